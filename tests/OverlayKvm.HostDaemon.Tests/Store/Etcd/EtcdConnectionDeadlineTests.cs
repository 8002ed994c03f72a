using System.Net;
using System.Net.Sockets;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Store.Etcd;

namespace OverlayKvm.HostDaemon.Tests.Store.Etcd;

/// <summary>
/// Every etcd call that runs out of time is "store unavailable", whatever shape Grpc.Net.Client gives the timeout: during
/// a quorum loss the liveness loop's read once ended in a TaskCanceledException (the deadline timer cancelling the HTTP/2
/// request) instead of DeadlineExceeded, which escaped the loop and stopped overlayd (EtcdQuorumLossTransferTests).
/// </summary>
public sealed class EtcdConnectionDeadlineTests
{
    [Fact]
    public void Describe_CancellationAfterTheDeadline_IsNoAnswer_BeforeIt_IsTheCallers()
    {
        using var connection = new EtcdConnection(new EtcdStoreOptions { Endpoints = "http://127.0.0.1:1", RequestTimeout = TimeSpan.FromSeconds(2) });

        Assert.Equal("no answer within 2 s (quorum lost or members down?)",
            connection.Describe(new TaskCanceledException(), DateTime.UtcNow - TimeSpan.FromMilliseconds(1)));
        Assert.Null(connection.Describe(new TaskCanceledException(), DateTime.UtcNow + TimeSpan.FromSeconds(2)));
        Assert.Null(connection.Describe(new InvalidOperationException(), DateTime.UtcNow - TimeSpan.FromSeconds(1)));
    }

    /// <summary>A member that accepts connections and never answers (a stopped process, a partition): every call, many times, is refused in time as unavailable.</summary>
    [Fact]
    public async Task CallAsync_EndpointThatNeverAnswers_AlwaysStoreUnavailable()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        silent.Listen(64);
        var held = new List<Socket>();
        using var stop = new CancellationTokenSource();
        Task accept = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                held.Add(await silent.AcceptAsync(stop.Token));
            }
        });
        int port = ((IPEndPoint)silent.LocalEndPoint!).Port;
        using var connection = new EtcdConnection(new EtcdStoreOptions { Endpoints = $"http://127.0.0.1:{port}", RequestTimeout = TimeSpan.FromMilliseconds(200) });
        try
        {
            for (int i = 0; i < 20; i++)
            {
                var refused = await Assert.ThrowsAsync<StoreUnavailableException>(() =>
                    connection.CallAsync("read live hosts", (client, deadline) => client.GetRangeAsync("/x/", deadline: deadline)));
                Assert.StartsWith($"store unavailable: etcd (http://127.0.0.1:{port}) read live hosts: ", refused.Message);
            }
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await accept;
            }
            catch (OperationCanceledException)
            {
                // The accept loop ends with the test.
            }
            foreach (Socket s in held) s.Dispose();
        }
    }
}
