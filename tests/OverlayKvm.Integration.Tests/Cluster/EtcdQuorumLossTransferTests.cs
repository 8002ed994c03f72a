using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// Issue 11, Show 3 (data path part; <see cref="EtcdQuorumLossTests"/> is the store/API/CLI part): a transfer from
/// host A to host B runs across a quorum loss of the cluster's etcd. It starts with quorum, goes on while two of three
/// members are down — writes are refused with exit 3, a new connection between members still works from the documents
/// the agents hold — and ends after the members are back, when a change made on host A reaches host B's agent again.
/// Nothing is restarted but the etcd members.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class EtcdQuorumLossTransferTests(ClusterFixture cluster, ITestOutputHelper output)
{
    private const int Mebibyte = 1 << 20;
    private const int TransferSize = 24 * Mebibyte;
    // The MiB marks (received) where quorum is lost and where it is back. Both sockets' buffers are 64 KiB, so the
    // sender is never more than a few hundred KiB ahead of the receiver: what arrives between two marks was sent then.
    private const int LoseQuorumAt = 2;
    private const int RestoreQuorumAt = 14;
    private const int SocketBuffer = 64 << 10;
    private const string ChangeApp = "quorum1";
    private const string ChangeAddress = "10.1.0.40";

    [Fact]
    public async Task TransferAcrossHosts_KeepsRunningThroughQuorumLoss_WritesRefusedExit3_ChangesFlowWhenQuorumReturns()
    {
        await cluster.ReadyAsync(output);
        var t = cluster.Topology;
        var etcd = cluster.Store.Etcd;
        var clock = Stopwatch.StartNew();
        TimeSpan lost = default, restored = default;
        long sealedAtLoss = 0, sealedAtRestore = 0, sealedAtEnd;
        bool quorumLost = false;
        int mark = 0;
        try
        {
            var data = TcpTransfer.MakeData(TransferSize);
            // The receiver pauses at each MiB mark while this runs (TCP holds the sender back meanwhile); between the
            // marks, a little pacing spreads the transfer over the outage instead of letting it finish before it.
            // Called back once per MiB received.
            async Task OnProgress(long received)
            {
                mark++;
                if (mark == LoseQuorumAt)
                {
                    sealedAtLoss = Sealed(t.AgentA1);
                    etcd.Kill(1);
                    etcd.Kill(2);
                    quorumLost = true;
                    lost = clock.Elapsed;
                    output.WriteLine($"{lost.TotalSeconds:F1} s: {received / Mebibyte} MiB received; etcd members m1 and m2 killed");
                    await WriteRefusedAsync(t);
                    // A new connection between members while etcd has no quorum: host B → host A, from the documents held.
                    var (sent, got) = await TcpTransfer.RunAsync(t.NsVmA1, ClusterTopology.Client, t.NsVmB, ClusterTopology.Server,
                        TcpTransfer.MakeData(Mebibyte), TimeSpan.FromSeconds(30));
                    Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(got));
                    output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: a new 1 MiB connection hB → hA completed without quorum");
                }
                else if (mark == RestoreQuorumAt)
                {
                    sealedAtRestore = Sealed(t.AgentA1);
                    output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: {received / Mebibyte} MiB received; {(sealedAtRestore - sealedAtLoss) / Mebibyte} MiB sealed by vmA1 without quorum; restarting m1 and m2");
                    await RestoreQuorumAsync(etcd);
                    quorumLost = false;
                    restored = clock.Elapsed;
                    await ChangeFlowsAsync(t);
                    output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: quorum back after {(restored - lost).TotalSeconds:F1} s without it; a change on hA reached vmB");
                }
                else if (mark < RestoreQuorumAt)
                {
                    await Task.Delay(100);
                }
            }

            var (sentAll, receivedAll) = await SmallWindowTransferAsync(t, data, OnProgress, TimeSpan.FromSeconds(240));
            sealedAtEnd = Sealed(t.AgentA1);
            output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: {TransferSize / Mebibyte} MiB hA → hB complete on the one connection; " +
                             $"vmA1 sealed {(sealedAtRestore - sealedAtLoss) / (double)Mebibyte:F1} MiB without quorum, {(sealedAtEnd - sealedAtRestore) / (double)Mebibyte:F1} MiB after it returned");
            Assert.Equal(Convert.ToHexString(sentAll), Convert.ToHexString(receivedAll));
            // 12 MiB arrived between the marks, 10 MiB after: allow for headers' absence and the few hundred KiB in buffers.
            Assert.True(sealedAtRestore - sealedAtLoss >= 10 * Mebibyte, $"only {sealedAtRestore - sealedAtLoss} bytes were sealed by vmA1 while etcd had no quorum");
            Assert.True(sealedAtEnd - sealedAtRestore >= 8 * Mebibyte, $"only {sealedAtEnd - sealedAtRestore} bytes were sealed by vmA1 after quorum returned");

            await t.CtlA.OkAsync("app-undefine", "web", ChangeApp);
            await t.WaitAppliedAsync(TimeSpan.FromSeconds(20));
        }
        catch
        {
            output.WriteLine(t.Logs());
            throw;
        }
        finally
        {
            if (quorumLost)
            {
                await RestoreQuorumAsync(etcd);
            }
        }
    }

    /// <summary>
    /// host A's client → host B's server on one TCP connection with 64 KiB socket buffers, the receiver calling
    /// <paramref name="onMebibyte"/> at every MiB (it reads nothing meanwhile: TCP holds the sender back). SHA-256 of
    /// what was sent and of what arrived.
    /// </summary>
    private static async Task<(byte[] Sent, byte[] Received)> SmallWindowTransferAsync(ClusterTopology t, byte[] data, Func<long, Task> onMebibyte, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var listener = t.NsVmB.OpenSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.ReceiveBufferSize = SocketBuffer; // inherited by the accepted socket: the window never grows past it
        listener.Bind(new IPEndPoint(IPAddress.Parse(ClusterTopology.Server), 0));
        listener.Listen(1);
        var server = new IPEndPoint(IPAddress.Parse(ClusterTopology.Server), ((IPEndPoint)listener.LocalEndPoint!).Port);
        Task<byte[]> receive = Task.Run(async () =>
        {
            using Socket connection = await listener.AcceptAsync(cts.Token);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[16 << 10];
            long total = 0, next = Mebibyte;
            int n;
            while ((n = await connection.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                total += n;
                if (total >= next)
                {
                    next += Mebibyte;
                    await onMebibyte(total);
                }
            }
            return sha.GetHashAndReset();
        });

        using var client = t.NsVmA1.OpenSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.SendBufferSize = SocketBuffer;
        client.Bind(new IPEndPoint(IPAddress.Parse(ClusterTopology.Client), 0));
        await client.ConnectAsync(server, cts.Token);
        for (int sent = 0; sent < data.Length;)
        {
            sent += await client.SendAsync(data.AsMemory(sent, Math.Min(16 << 10, data.Length - sent)), SocketFlags.None, cts.Token);
        }
        client.Shutdown(SocketShutdown.Send);
        return (SHA256.HashData(data), await receive);
    }

    private static long Sealed(AgentProcess agent) => AgentControl.Counter(agent.ControlSocket, "web", "sealed", "bytesOut");

    /// <summary>An admin write without quorum: refused with one line and exit 3, after at most the etcd timeout.</summary>
    private async Task WriteRefusedAsync(ClusterTopology t)
    {
        ProcessResult refused = await t.CtlA.RunAsync("app-define", "web", ChangeApp, "--domain", "vmA1", "--address", ChangeAddress);
        output.WriteLine($"write without quorum: {refused}");
        Assert.Equal(3, refused.ExitCode);
        Assert.StartsWith("overlayctl: store unavailable: ", Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    private static Task RestoreQuorumAsync(OverlayKvm.Tests.Etcd.EtcdCluster etcd)
    {
        foreach (int member in new[] { 1, 2 })
        {
            if (!etcd.IsRunning(member))
            {
                etcd.Restart(member);
            }
        }
        return Task.Run(() => etcd.WaitHealthy(TimeSpan.FromSeconds(60)));
    }

    /// <summary>With quorum back, the refused write succeeds (no restart of any overlayd) and host B's agent applies it.</summary>
    private async Task ChangeFlowsAsync(ClusterTopology t)
    {
        ProcessResult again = await t.CtlA.RunAsync("app-define", "web", ChangeApp, "--domain", "vmA1", "--address", ChangeAddress);
        for (int i = 0; i < 60 && again.ExitCode != 0; i++)
        {
            await Task.Delay(500);
            again = await t.CtlA.RunAsync("app-define", "web", ChangeApp, "--domain", "vmA1", "--address", ChangeAddress);
        }
        output.WriteLine($"write with quorum back: {again}");
        Assert.Equal(0, again.ExitCode);
        await t.WaitAppliedAsync(TimeSpan.FromSeconds(30));
        var members = (await t.CtlB.JsonAsync("domain-config", "vmB")).GetProperty("groups")[0].GetProperty("members").EnumerateArray()
            .Select(m => m.GetProperty("name").GetString()!);
        Assert.Contains(ChangeApp, members);
    }
}
