using System.Net.Sockets;
using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.HostDaemon.Channel;
using OverlayKvm.HostDaemon.Tests.Engine;

namespace OverlayKvm.HostDaemon.Tests.Channel;

/// <summary>Issue 14 item 8 (overlayd part): what one guest can make overlayd spend is bounded.</summary>
public sealed class GuestResourceLimitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("okvm-hh-guest-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] Request(long id, string address) =>
        JsonSerializer.SerializeToUtf8Bytes(new EngineAddressRequest(id, address), ChannelJsonContext.Default.EngineAddressRequest);

    [Fact]
    public void Dispatch_PastTheDomainsBudget_AnswersThrottled_WithoutAskingTheRegistry()
    {
        using var f = new EngineFixture();
        using var budget = new GuestBudget(new TokenBucketRateLimiterOptions
        {
            TokenLimit = 3, TokensPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromHours(1), QueueLimit = 0, AutoReplenishment = false,
        });
        var vm1 = new EngineHypercallDispatcher("vm1", f.Registry, budget);

        var statuses = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            var answer = vm1.Dispatch(ChannelMessageType.Register, Request(i, "10.1.0.1"));
            statuses.Add(ChannelConnection.TryParse(answer.Payload, ChannelJsonContext.Default.EngineRegisterAnswer, out _)!.Status);
        }

        Assert.Equal(["Registered", "AlreadyRegistered", "AlreadyRegistered", "Throttled", "Throttled"], statuses);
        Assert.Equal(2, budget.Throttled);
    }

    [Fact]
    public void GuestWarnings_PastTheBudget_AreCountedNotLogged()
    {
        using var budget = new GuestBudget();
        int logged = 0;
        for (int i = 0; i < 1000; i++)
        {
            if (budget.TryWarn(out _))
            {
                logged++;
            }
        }

        Assert.InRange(logged, 10, 11); // the burst (plus at most one refill if the run crossed a 6 s period)
        Assert.Equal(1000 - logged, budget.SuppressedWarnings);
    }

    [Fact]
    public void GuestText_LongerThanTheLimit_IsCutTo256CharsAndSaysHowLongItWas()
    {
        string bounded = GuestText.Bounded(new string('x', 1 << 20));

        Assert.StartsWith(new string('x', GuestText.MaxLoggedChars) + "… (1048576 chars)", bounded);
        Assert.True(bounded.Length < GuestText.MaxLoggedChars + 32);
        Assert.Equal("short", GuestText.Bounded("short"));
    }

    [Fact]
    public async Task Push_ToAGuestThatNeverReads_TimesOutAndReconnects()
    {
        string path = Path.Combine(_dir, "vm1.agent.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(4);
        // ~900 KB: more than the socket buffers hold, so the write blocks while the guest does not read.
        var doc = new DomainConfigDocument(DomainConfigDocument.CurrentFormat, "vm1", 1, new string('d', 900_000), null, "h", [], []);
        await using var client = new DomainChannelClient("vm1", path, () => doc, NullLogger.Instance, writeTimeout: TimeSpan.FromMilliseconds(300));
        client.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        using Socket stalled = await listener.AcceptAsync(cts.Token);
        // The channel is dropped and overlayd connects again: the guest cost it one bounded wait, not a stuck task.
        using Socket again = await listener.AcceptAsync(cts.Token);

        Assert.True(client.WriteTimeouts >= 1, $"write timeouts: {client.WriteTimeouts}");
        Assert.Equal(0, stalled.Receive(new byte[1], SocketFlags.Peek) == 0 ? 0 : DrainToEof(stalled));
    }

    /// <summary>Reads until overlayd's end is closed; returns 0 once EOF is seen.</summary>
    private static int DrainToEof(Socket socket)
    {
        socket.ReceiveTimeout = 10_000;
        var buffer = new byte[64 * 1024];
        while (socket.Receive(buffer) > 0)
        {
        }
        return 0;
    }
}
