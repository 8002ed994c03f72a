using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Agent;

/// <summary>
/// Issue 13 "services as apps": a real agent in a namespace follows a systemd unit declared in apps.d over D-Bus
/// (a private dbus-daemon and a fake systemd: this machine has no systemd) and counts the unit's app in and out
/// with the same adapter as `overlay-agent run` apps; `wait-app` (the drop-in's ExecStartPre) returns once the
/// app is counted in; without a bus the agent says so once and keeps serving `run` apps.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class UnitFollowerServiceTests : IAsyncLifetime
{
    private const string Unit = "redis-server.service";
    private const string CacheAddress = "10.1.0.5";
    private const string AlphaAddress = "10.1.0.3";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "as-units-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<IDisposable> _cleanup = new();
    private HostChannelPeer? _host;

    public Task InitializeAsync()
    {
        Prerequisites.RequireRootAndTools("ip");
        Directory.CreateDirectory(Path.Combine(_dir, "apps.d"));
        File.WriteAllText(Path.Combine(_dir, "apps.d", "redis.conf"), $"# the cache is redis\napp=cache\nunit={Unit}\n");
        File.WriteAllText(Path.Combine(_dir, "apps.d", "bad.conf"), "app=other\nport=6379\n");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        foreach (IDisposable d in Enumerable.Reverse(_cleanup))
        {
            d.Dispose();
        }
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task UnitStates_CountAppInAndOut_OnTheAdapterRunAppsUse_WaitAppReturnsOnceCountedIn()
    {
        var bus = Track(PrivateDbusDaemon.Start(Path.Combine(_dir, "bus")));
        var systemd = Track(await FakeSystemd.StartAsync(bus.Address));
        var (ns, agent) = await StartAgentAsync(bus.Address);
        agent.WaitUntil(() => agent.Log.Contains("following 1 systemd unit(s): " + Unit, StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the follower to start");
        Assert.Equal(1, systemd.Subscribes);
        Assert.Contains("bad.conf:2: unknown key 'port'", agent.Log);
        Assert.Empty(OverlayDevices(ns));

        // Inactive unit: wait-app gives up with the reason after its timeout.
        var (code, _, err) = ns.Exec(Prerequisites.AgentBinary(), "wait-app", "cache", "--timeout-s", "1", "--control", agent.ControlSocket);
        Assert.Equal(1, code);
        Assert.Contains("app cache was not counted in within 1 s", err);

        // systemctl start: the unit is activating while ExecStartPre (wait-app) runs; wait-app returns once counted in.
        Task<(int Code, string Out, string Err)> waitApp = Task.Run(() =>
            ns.Exec(Prerequisites.AgentBinary(), "wait-app", "cache", "--timeout-s", "20", "--control", agent.ControlSocket));
        systemd.SetState(Unit, "activating");
        var waited = await waitApp;
        Assert.True(waited.Code == 0, $"wait-app failed: {waited.Err}\n{agent.Log}");
        string dev = Assert.Single(OverlayDevices(ns));
        Assert.Contains(CacheAddress + "/32", ns.Ip("-4", "addr", "show", "dev", dev));
        Assert.Contains($"from {CacheAddress} lookup 105", ns.Ip("rule", "show"));
        systemd.SetState(Unit, "active");

        // A `run` app of the same group shares the adapter: one count for both kinds of holder.
        var alpha = Track(AppProcess.Start(agent, "alpha"));
        agent.WaitUntil(() => ns.Ip("-4", "addr", "show").Contains(AlphaAddress + "/32", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "alpha's address");
        var adapters = AgentControl.Stat(agent.ControlSocket)["adapters"]!.AsArray();
        Assert.Equal(2, Assert.Single(adapters)!["count"]!.GetValue<int>());

        // Stopping: deactivating keeps the address (the service may still use it), inactive counts out.
        int reads = systemd.StateReads;
        systemd.SetState(Unit, "deactivating");
        agent.WaitUntil(() => systemd.StateReads > reads, TimeSpan.FromSeconds(20), "the agent to read the deactivating state");
        Assert.Contains(CacheAddress + "/32", ns.Ip("-4", "addr", "show"));
        systemd.SetState(Unit, "inactive");
        agent.WaitUntil(() => !ns.Ip("-4", "addr", "show").Contains(CacheAddress + "/32", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the cache address to go");
        Assert.DoesNotContain($"from {CacheAddress} ", ns.Ip("rule", "show"));
        Assert.Equal(new[] { dev }, OverlayDevices(ns));

        // Started again, then failed, announced only by JobRemoved (as for a unit whose start job fails).
        systemd.SetState(Unit, "activating", propertiesChanged: false, jobRemoved: true);
        agent.WaitUntil(() => ns.Ip("-4", "addr", "show").Contains(CacheAddress + "/32", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the cache address after JobRemoved");
        systemd.SetState(Unit, "failed", propertiesChanged: false, jobRemoved: true);
        agent.WaitUntil(() => !ns.Ip("-4", "addr", "show").Contains(CacheAddress + "/32", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the cache address to go after failed");

        // The last holder gone: the adapter goes too.
        alpha.Stop();
        agent.WaitUntil(() => OverlayDevices(ns).Count == 0, TimeSpan.FromSeconds(20), "the adapter to go");
    }

    [Fact]
    public async Task NoSystemBus_SaysSoOnce_RunAppsKeepWorking()
    {
        var (ns, agent) = await StartAgentAsync("unix:path=" + Path.Combine(_dir, "no-bus.sock"));
        const string warning = "systemd units cannot be followed: D-Bus at";
        agent.WaitUntil(() => agent.Log.Contains(warning, StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the no-bus warning");
        var alpha = Track(AppProcess.Start(agent, "alpha"));
        agent.WaitUntil(() => ns.Ip("-4", "addr", "show").Contains(AlphaAddress + "/32", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "alpha's address");
        Assert.Single(OverlayDevices(ns));
        Assert.Equal(1, agent.Log.Split('\n').Count(l => l.Contains(warning, StringComparison.Ordinal)));
        alpha.Stop();
        agent.WaitUntil(() => OverlayDevices(ns).Count == 0, TimeSpan.FromSeconds(20), "the adapter to go");
    }

    private async Task<(NetNamespace Ns, AgentProcess Agent)> StartAgentAsync(string busAddress)
    {
        var ns = Track(NetNamespace.Create("as-u"));
        var agent = Track(new AgentProcess(ns, Path.Combine(_dir, "agent"), "vmA")
        {
            ExtraArguments = ["--no-engine", "--apps-dir", Path.Combine(_dir, "apps.d"), "--system-bus", busAddress],
        });
        agent.Start();
        _host = await HostChannelPeer.ConnectAsync(agent.ChannelSocket);
        var docs = new TestDocuments();
        docs.Apps.Add(new TestApp("cache", CacheAddress, "vmA", 105));
        docs.Apps.Add(new TestApp("alpha", AlphaAddress, "vmA", 103));
        await _host.PushAppliedAsync(docs.For("vmA", "10.99.0.1", new Dictionary<string, string>(), 2));
        return (ns, agent);
    }

    private static List<string> OverlayDevices(NetNamespace ns) =>
        ns.Ip("-o", "link", "show").Split('\n').Where(l => l.Contains(": ovk", StringComparison.Ordinal)).Select(l => l.Split(':')[1].Trim()).ToList();

    private T Track<T>(T d)
        where T : IDisposable
    {
        _cleanup.Add(d);
        return d;
    }
}
