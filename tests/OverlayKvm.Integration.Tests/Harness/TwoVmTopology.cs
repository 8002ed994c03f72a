using System.Net;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// Two "VMs" (namespaces, each with a real overlay-agent) on an underlay, one group "web" with app "client"
/// (10.1.0.1) on vmA and "server" (10.1.0.2) on vmB. The underlay is either a direct veth pair
/// (10.99.0.1 ↔ 10.99.0.2) or passes through a <see cref="UdpRelay"/> in a third namespace. The test plays the
/// host side of both channels. Everything is removed on dispose, in reverse order, even after a failure.
/// </summary>
internal sealed class TwoVmTopology : IAsyncDisposable
{
    public const int OverlayPort = 7480;
    public const string ClientAddress = "10.1.0.1";
    public const string ServerAddress = "10.1.0.2";
    private readonly CleanupStack _cleanup = new();
    private readonly CleanupStack _asyncCleanup = new();
    private long _version = 1;

    private TwoVmTopology(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    public NetNamespace A { get; private set; } = null!;

    public NetNamespace B { get; private set; } = null!;

    public NetNamespace? RelayNs { get; private set; }

    public UdpRelay? Relay { get; private set; }

    public AgentProcess AgentA { get; private set; } = null!;

    public AgentProcess AgentB { get; private set; } = null!;

    public HostChannelPeer HostA { get; private set; } = null!;

    public HostChannelPeer HostB { get; private set; } = null!;

    public TestDocuments Docs { get; } = new();

    /// <summary>Underlay address of vmA / vmB as the other side sees it.</summary>
    public string AddressOfA { get; private set; } = "";

    public string AddressOfB { get; private set; } = "";

    /// <summary>Own underlay address and interface of each VM.</summary>
    public string OwnAddressA { get; private set; } = "";

    public string OwnAddressB { get; private set; } = "";

    public string DeviceA { get; private set; } = "";

    public static async Task<TwoVmTopology> CreateAsync(bool viaRelay)
    {
        Prerequisites.RequireRootAndTools("ip", "tcpdump");
        string dir = Path.Combine(Path.GetTempPath(), "ovkt-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(dir);
        var t = new TwoVmTopology(dir);
        try
        {
            await t.BuildAsync(viaRelay);
            return t;
        }
        catch
        {
            await t.DisposeAsync();
            throw;
        }
    }

    private async Task BuildAsync(bool viaRelay)
    {
        A = Track(NetNamespace.Create("a"));
        B = Track(NetNamespace.Create("b"));
        DeviceA = "va";
        if (!viaRelay)
        {
            (OwnAddressA, OwnAddressB) = NetTopology.TwoVms(A, B, "10.99.0");
            AddressOfA = OwnAddressA;
            AddressOfB = OwnAddressB;
        }
        else
        {
            RelayNs = Track(NetNamespace.Create("r"));
            NetTopology.Veth(A, "va", "10.99.1.2", RelayNs, "ra", "10.99.1.1");
            NetTopology.Veth(B, "vb", "10.99.2.2", RelayNs, "rb", "10.99.2.1");
            OwnAddressA = "10.99.1.2";
            OwnAddressB = "10.99.2.2";
            AddressOfB = "10.99.1.1"; // what vmA is told vmB is: the relay
            AddressOfA = "10.99.2.1"; // what vmB is told vmA is: the relay
            Relay = Track(new UdpRelay(RelayNs, AddressOfB, AddressOfA,
                new IPEndPoint(IPAddress.Parse(OwnAddressA), OverlayPort), new IPEndPoint(IPAddress.Parse(OwnAddressB), OverlayPort), OverlayPort));
            Relay.Start();
        }
        Docs.Apps.Add(new TestApp("client", ClientAddress, "vmA", 101));
        Docs.Apps.Add(new TestApp("server", ServerAddress, "vmB", 102));

        AgentA = Track(new AgentProcess(A, Path.Combine(Directory, "a"), "vmA"));
        AgentB = Track(new AgentProcess(B, Path.Combine(Directory, "b"), "vmB"));
        AgentA.Start();
        AgentB.Start();
        HostA = TrackAsync(await HostChannelPeer.ConnectAsync(AgentA.ChannelSocket));
        HostB = TrackAsync(await HostChannelPeer.ConnectAsync(AgentB.ChannelSocket));
        await PushAsync();
    }

    public Dictionary<string, string> PeersOfA => new() { ["vmB"] = AddressOfB };

    public Dictionary<string, string> PeersOfB => new() { ["vmA"] = AddressOfA };

    /// <summary>Pushes the current documents (next version) to both agents and checks both applied them.</summary>
    public async Task PushAsync()
    {
        long v = Interlocked.Increment(ref _version);
        await HostA.PushAppliedAsync(Docs.For("vmA", OwnAddressA, PeersOfA, v));
        await HostB.PushAppliedAsync(Docs.For("vmB", OwnAddressB, PeersOfB, v));
    }

    /// <summary>Reconnects the host side of vmA's channel (after an agent restart) and pushes its document again.</summary>
    public async Task ReconnectAAsync()
    {
        HostA = TrackAsync(await HostChannelPeer.ConnectAsync(AgentA.ChannelSocket));
        await HostA.PushAppliedAsync(Docs.For("vmA", OwnAddressA, PeersOfA, Interlocked.Read(ref _version)));
    }

    /// <summary>Starts `overlay-agent run --app NAME -- sleep 600` and waits until the app's address is on its adapter.</summary>
    public AppProcess StartApp(AgentProcess agent, string app, string address)
    {
        return Track(AppProcess.StartOnAdapter(agent, app, address));
    }

    /// <summary>The two apps most scenarios run: "client" on vmA and "server" on vmB, each up on its adapter.</summary>
    public (AppProcess Client, AppProcess Server) StartClientAndServer() =>
        (StartApp(AgentA, "client", ClientAddress), StartApp(AgentB, "server", ServerAddress));

    public string Logs() => $"--- agent vmA ---\n{AgentA?.Log}\n--- agent vmB ---\n{AgentB?.Log}";

    private T Track<T>(T d)
        where T : IDisposable => _cleanup.Track(d);

    private T TrackAsync<T>(T d)
        where T : IAsyncDisposable => _asyncCleanup.TrackAsync(d);

    public async ValueTask DisposeAsync()
    {
        // The agent may already be gone when its channel closes (IOException): the channel closing is what we wanted.
        await _asyncCleanup.DisposeAllAsync(static e => e is IOException);
        // Apps first (they unregister), then agents, relay, namespaces (which removes veths and TUN devices).
        await _cleanup.DisposeAllAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A socket file still being unlinked by an exiting process; the directory is under /tmp.
        }
    }
}
