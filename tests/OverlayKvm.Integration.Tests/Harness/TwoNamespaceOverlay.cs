using OverlayKvm.Integration.Tests.Daemon;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// The namespace testbed shared by the engine and policy scenarios: a real overlayd; two "VMs" — namespaces A and
/// B joined by a veth underlay (va ↔ vb) — each running a real overlay-agent that overlayd reaches through a
/// symlink in its channel directory, as libvirt's socket would be. Subclasses define their groups, apps and agent
/// flags. Everything is removed on dispose, even after a failure: apps, agents, then the namespaces (taking veths
/// and TUN devices with them), then the daemon and the work folder.
/// </summary>
internal abstract class TwoNamespaceOverlay : IAsyncDisposable
{
    // IDisposable or IAsyncDisposable, disposed in reverse order of creation.
    private readonly CleanupStack _cleanup = new();

    protected TwoNamespaceOverlay(string workPrefix)
    {
        Daemon = new DaemonProcess();
        Work = Directory.CreateTempSubdirectory(workPrefix).FullName;
        Ctl = new Overlayctl(Daemon.Socket);
    }

    public DaemonProcess Daemon { get; }

    public Overlayctl Ctl { get; }

    public NetNamespace A { get; private set; } = null!;

    public NetNamespace B { get; private set; } = null!;

    public AgentProcess AgentA { get; private set; } = null!;

    public AgentProcess AgentB { get; private set; } = null!;

    public string Work { get; }

    /// <summary>Runs <paramref name="build"/>; on any failure everything created so far is removed before rethrowing.</summary>
    protected static async Task<T> BuildAsync<T>(T scenario, Func<T, Task> build)
        where T : TwoNamespaceOverlay
    {
        Prerequisites.RequireRootAndTools("ip", "tcpdump");
        try
        {
            await build(scenario);
            return scenario;
        }
        catch
        {
            await scenario.DisposeAsync();
            throw;
        }
    }

    /// <summary>Namespaces and underlay, overlayd started, domains vmA/vmB defined with their underlay addresses.</summary>
    protected async Task StartUnderlayAsync(string roleA, string roleB, string underlayA, string underlayB)
    {
        A = Track(NetNamespace.Create(roleA));
        B = Track(NetNamespace.Create(roleB));
        NetTopology.Veth(A, "va", underlayA, B, "vb", underlayB);
        await Daemon.StartAsync();
        await Ctl.OkAsync("domain-define", "vmA", "--address", underlayA);
        await Ctl.OkAsync("domain-define", "vmB", "--address", underlayB);
    }

    /// <summary>Starts both agents with <paramref name="flags"/> and waits until they run the current documents.</summary>
    /// <param name="agentBinary">Another overlay-agent than the build's (e.g. a packaged one); null for the default.</param>
    protected async Task StartAgentsAsync(string[] flags, string? agentBinary = null)
    {
        AgentA = Track(new AgentProcess(A, Path.Combine(Work, "a"), "vmA") { ExtraArguments = flags, Binary = agentBinary });
        AgentB = Track(new AgentProcess(B, Path.Combine(Work, "b"), "vmB") { ExtraArguments = flags, Binary = agentBinary });
        AgentA.Start();
        AgentB.Start();
        File.CreateSymbolicLink(Path.Combine(Daemon.ChannelDir, "vmA.agent.sock"), ChannelEndpoint(AgentA));
        File.CreateSymbolicLink(Path.Combine(Daemon.ChannelDir, "vmB.agent.sock"), ChannelEndpoint(AgentB));
        await WaitConfiguredAsync();
    }

    /// <summary>Where overlayd's channel to <paramref name="agent"/> leads: the agent's socket, or a scenario's proxy in front of it.</summary>
    protected virtual string ChannelEndpoint(AgentProcess agent) => agent.ChannelSocket;

    /// <summary>Waits until both agents run the current documents (after a policy or protection change, too).</summary>
    public Task WaitConfiguredAsync() => ConfigApplied.WaitAsync(Ctl, AgentA, AgentB);

    /// <summary>Starts app <paramref name="app"/> with `overlay-agent run` and waits for its address on the adapter.</summary>
    public AppProcess StartApp(AgentProcess agent, string app, string address) => Track(AppProcess.StartOnAdapter(agent, app, address));

    public T Track<T>(T d)
        where T : IDisposable => _cleanup.Track(d);

    public T TrackAsyncDisposable<T>(T d)
        where T : IAsyncDisposable => _cleanup.TrackAsync(d);

    public string Logs() =>
        $"--- overlayd ---\n{Daemon.Log}\n--- agent vmA ---\n{AgentA?.Log}\n--- agent vmB ---\n{AgentB?.Log}";

    public async ValueTask DisposeAsync()
    {
        await _cleanup.DisposeAllAsync();
        await Daemon.DisposeAsync();
        Directory.Delete(Work, recursive: true);
    }
}
