using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.HostDaemon.Channel;
using OverlayKvm.HostDaemon.Tests.Posix;

namespace OverlayKvm.HostDaemon.Tests.Channel;

/// <summary>
/// Issue 14 item 1: overlayd sends a domain's document (its group keys) only to a channel socket whose listener is
/// vouched for — the QEMU libvirt started for that domain (by its pid file, or by libvirt's status record binding
/// this very path), or root. Another local user's listener at the domain's path gets nothing. The listeners here call listen() as
/// uid 65534 on one thread (<see cref="AsOtherUser"/>), which is what SO_PEERCRED reports to overlayd.
/// </summary>
public sealed class ChannelPeerCheckTests : IDisposable
{
    private const int PeerRefusedEvent = 107;
    private readonly string _dir = Directory.CreateTempSubdirectory("okvm-cpc-").FullName;
    private readonly string _pidDir;

    public ChannelPeerCheckTests()
    {
        _pidDir = Directory.CreateDirectory(Path.Combine(_dir, "qemu")).FullName;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Strict_ListenerOfAnotherUser_GetsNothing_IsCountedAtEveryAttempt_AndLoggedOnce()
    {
        using Socket impostor = ListenAs(AsOtherUser.Nobody, "vm1");
        var logger = new EventCountingLogger();
        await using var client = new DomainChannelClient("vm1", SocketPath("vm1"), () => Document(), logger,
            peerCheck: new ChannelPeerCheck(ChannelPeerCheckMode.Strict, _pidDir));
        client.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        // Three attempts (back-off 100, 200 ms): each is accepted by the impostor and closed by overlayd unread.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            using Socket accepted = await impostor.AcceptAsync(cts.Token);
            Assert.Equal(0, await ReadToEndAsync(accepted, cts.Token));
        }

        Assert.True(client.RefusedPeers >= 3, $"refused: {client.RefusedPeers}");
        Assert.False(client.Connected);
        Assert.Equal(1, logger.Count(PeerRefusedEvent));
        Assert.Contains($"uid {AsOtherUser.Nobody}", logger.Text);
    }

    [Fact]
    public async Task Strict_ListenerOfAnotherUser_WithAnotherDomainsQemuPid_GetsNothing()
    {
        // libvirt recorded a pid for this domain, but not the listener's: another domain's QEMU (same uid) squatting.
        await File.WriteAllTextAsync(Path.Combine(_pidDir, "vm1.pid"), "1\n");
        using Socket impostor = ListenAs(AsOtherUser.Nobody, "vm1");

        await AssertRefusedAsync(impostor);
    }

    [Fact]
    public async Task Strict_ListenerWhosePidLibvirtRecordedForTheDomain_IsServed()
    {
        // A QEMU that binds the socket itself runs unprivileged; the pid libvirt wrote for the domain vouches for it.
        await File.WriteAllTextAsync(Path.Combine(_pidDir, "vm1.pid"), $"{Environment.ProcessId}\n");
        using Socket qemu = ListenAs(AsOtherUser.Nobody, "vm1");

        await AssertServedAsync(qemu, ChannelPeerCheckMode.Strict);
    }

    [Fact]
    public async Task Strict_PidFileOlderThanTheListenersProcess_PidWasReused_GetsNothing()
    {
        // The domain's QEMU died and left its pid file; a later process got the same pid and listens on the socket.
        string pidFile = Path.Combine(_pidDir, "vm1.pid");
        await File.WriteAllTextAsync(pidFile, $"{Environment.ProcessId}\n");
        DateTime processStart = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();
        File.SetLastWriteTimeUtc(pidFile, processStart - TimeSpan.FromHours(1));
        using Socket reused = ListenAs(AsOtherUser.Nobody, "vm1");

        await AssertRefusedAsync(reused);
    }

    [Fact]
    public async Task Strict_QemuLibvirtKnowsByAnotherName_WhoseStatusBindsThisChannel_IsServed()
    {
        // A test fixture names its libvirt domains apart from the overlay's: libvirt's own record ties the pid to the path.
        await File.WriteAllTextAsync(Path.Combine(_pidDir, "okve2e-1a2b.pid"), $"{Environment.ProcessId}");
        await File.WriteAllTextAsync(Path.Combine(_pidDir, "okve2e-1a2b.xml"), Status(SocketPath("vm1")));
        using Socket qemu = ListenAs(AsOtherUser.Nobody, "vm1");

        await AssertServedAsync(qemu, ChannelPeerCheckMode.Strict);
    }

    [Fact]
    public async Task Strict_QemuLibvirtKnowsByAnotherName_WhoseStatusBindsAnotherChannel_GetsNothing()
    {
        // Another domain's QEMU that got a socket to vm1's path: libvirt configured it with its own channel only.
        await File.WriteAllTextAsync(Path.Combine(_pidDir, "evil.pid"), $"{Environment.ProcessId}");
        await File.WriteAllTextAsync(Path.Combine(_pidDir, "evil.xml"), Status(SocketPath("evil")));
        using Socket impostor = ListenAs(AsOtherUser.Nobody, "vm1");

        await AssertRefusedAsync(impostor);
    }

    [Fact]
    public async Task Strict_RootListener_IsServed()
    {
        using var rootListener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        rootListener.Bind(new UnixDomainSocketEndPoint(SocketPath("vm1")));
        rootListener.Listen(4);

        await AssertServedAsync(rootListener, ChannelPeerCheckMode.Strict);
    }

    [Fact]
    public async Task None_ListenerOfAnotherUser_IsServed()
    {
        using Socket agent = ListenAs(AsOtherUser.Nobody, "vm1");

        await AssertServedAsync(agent, ChannelPeerCheckMode.None);
    }

    /// <summary>Strict mode connects to the listener, writes nothing and counts the refusal.</summary>
    private async Task AssertRefusedAsync(Socket listener)
    {
        await using var client = new DomainChannelClient("vm1", SocketPath("vm1"), () => Document(), NullLogger.Instance,
            peerCheck: new ChannelPeerCheck(ChannelPeerCheckMode.Strict, _pidDir));
        client.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using Socket accepted = await listener.AcceptAsync(cts.Token);

        Assert.Equal(0, await ReadToEndAsync(accepted, cts.Token));
        Assert.True(client.RefusedPeers >= 1);
        Assert.False(client.Connected);
    }

    private async Task AssertServedAsync(Socket listener, ChannelPeerCheckMode mode)
    {
        await using var client = new DomainChannelClient("vm1", SocketPath("vm1"), () => Document(), NullLogger.Instance,
            peerCheck: new ChannelPeerCheck(mode, _pidDir));
        client.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using Socket accepted = await listener.AcceptAsync(cts.Token);
        await using var agent = new ChannelConnection(new NetworkStream(accepted, ownsSocket: false));

        ChannelMessage? hello = await agent.ReadAsync(cts.Token);
        ChannelMessage? config = await agent.ReadAsync(cts.Token);

        Assert.Equal(ChannelMessageType.Hello, hello?.Type);
        Assert.Equal(ChannelMessageType.Config, config?.Type);
        Assert.Equal(0, client.RefusedPeers);
    }

    /// <summary>A listening socket at the domain's path whose listen() ran as <paramref name="uid"/>.</summary>
    private Socket ListenAs(uint uid, string domain)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(SocketPath(domain)));
        // SO_PEERCRED records the credentials of the caller of listen(), not of bind().
        AsOtherUser.Run(uid, () => listener.Listen(4));
        return listener;
    }

    /// <summary>The shape of libvirt's status file (/run/libvirt/qemu/NAME.xml) as far as the check reads it.</summary>
    private static string Status(string channelPath) =>
        $"<domstatus state='running' reason='booted' pid='1'><domain type='qemu'><devices><channel type='unix'>" +
        $"<source mode='bind' path='{channelPath}'/><target type='virtio' name='org.overlaykvm.agent.0'/></channel></devices></domain></domstatus>";

    private string SocketPath(string domain) => ChannelSupervisorService.SocketPath(_dir, domain);

    private static DomainConfigDocument Document() =>
        new(DomainConfigDocument.CurrentFormat, "vm1", 1, "secret-digest", null, "h", [], []);

    /// <summary>How many bytes arrive before overlayd closes its end.</summary>
    private static async Task<int> ReadToEndAsync(Socket socket, CancellationToken ct)
    {
        var buffer = new byte[4096];
        int total = 0, n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, ct)) > 0)
        {
            total += n;
        }
        return total;
    }
}
