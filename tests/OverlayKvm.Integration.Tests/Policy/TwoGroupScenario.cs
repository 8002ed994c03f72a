using System.Text.Json.Nodes;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Policy;

/// <summary>
/// Seed 004's example on real processes: a real overlayd; namespaces pa (vmA, underlay 10.96.0.1) and pb (vmB,
/// 10.96.0.2) joined by a veth; a real overlay-agent in each; app B 10.2.0.2 of group G2 on vmA and app D
/// 10.3.0.4 of group G3 on vmB. Policies are added by the test with overlayctl. Short TTLs keep expiry testable.
/// Everything is removed on dispose, even after a failure.
/// </summary>
internal sealed class TwoGroupScenario : IAsyncDisposable
{
    public const string B = "10.2.0.2";
    public const string D = "10.3.0.4";
    /// <summary>The agents' deny TTL (--deny-ttl-ms); tests of expiry make it short.</summary>
    public int DenyTtlMs { get; private init; } = 30_000;
    private readonly List<IDisposable> _cleanup = new();
    private readonly string _work;

    private TwoGroupScenario(DaemonProcess daemon, string work)
    {
        Daemon = daemon;
        _work = work;
        Ctl = new Overlayctl(daemon.Socket);
    }

    public DaemonProcess Daemon { get; }

    public Overlayctl Ctl { get; }

    public NetNamespace A { get; private set; } = null!;

    public NetNamespace Bns { get; private set; } = null!;

    public AgentProcess AgentA { get; private set; } = null!;

    public AgentProcess AgentB { get; private set; } = null!;

    public string Work => _work;

    /// <param name="policies">overlayctl policy-add argument lists, added before the agents start.</param>
    /// <summary>True: the agents map the daemon's engine regions (both VMs are on one host), as EngineScenario's do.</summary>
    public bool Engine { get; private init; }

    public static Task<TwoGroupScenario> CreateAsync(params string[][] policies) => CreateAsync(30_000, policies);

    public static Task<TwoGroupScenario> CreateAsync(int denyTtlMs, params string[][] policies) => CreateAsync(denyTtlMs, false, policies);

    public static async Task<TwoGroupScenario> CreateAsync(int denyTtlMs, bool engine, params string[][] policies)
    {
        Prerequisites.RequireRootAndTools("ip", "tcpdump");
        var s = new TwoGroupScenario(new DaemonProcess(), Directory.CreateTempSubdirectory("okvm-pol-").FullName) { DenyTtlMs = denyTtlMs, Engine = engine };
        try
        {
            await s.BuildAsync(policies);
            return s;
        }
        catch
        {
            await s.DisposeAsync();
            throw;
        }
    }

    private async Task BuildAsync(string[][] policies)
    {
        A = Track(NetNamespace.Create("pa"));
        Bns = Track(NetNamespace.Create("pb"));
        A.Ip("link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", Bns.Name);
        A.Ip("addr", "add", "10.96.0.1/24", "dev", "va");
        Bns.Ip("addr", "add", "10.96.0.2/24", "dev", "vb");
        A.Ip("link", "set", "va", "up");
        Bns.Ip("link", "set", "vb", "up");

        await Daemon.StartAsync();
        await Ctl.OkAsync("group-define", "G2", "--cidr", "10.2.0.0/16");
        await Ctl.OkAsync("group-define", "G3", "--cidr", "10.3.0.0/16");
        await Ctl.OkAsync("domain-define", "vmA", "--address", "10.96.0.1");
        await Ctl.OkAsync("domain-define", "vmB", "--address", "10.96.0.2");
        await Ctl.OkAsync("app-define", "G2", "B", "--domain", "vmA", "--address", B);
        await Ctl.OkAsync("app-define", "G3", "D", "--domain", "vmB", "--address", D);
        foreach (var policy in policies)
        {
            await Ctl.OkAsync(["policy-add", .. policy]);
        }

        string[] flags = [.. Engine ? ["--engine-dir", Daemon.EngineDir] : new[] { "--no-engine" }, "--deny-ttl-ms", DenyTtlMs.ToString(), "--negotiation-timeout-ms", "800"];
        AgentA = Track(new AgentProcess(A, Path.Combine(_work, "a"), "vmA") { ExtraArguments = flags });
        AgentB = Track(new AgentProcess(Bns, Path.Combine(_work, "b"), "vmB") { ExtraArguments = flags });
        AgentA.Start();
        AgentB.Start();
        File.CreateSymbolicLink(Path.Combine(Daemon.ChannelDir, "vmA.agent.sock"), AgentA.ChannelSocket);
        File.CreateSymbolicLink(Path.Combine(Daemon.ChannelDir, "vmB.agent.sock"), AgentB.ChannelSocket);
        await WaitConfiguredAsync();
        StartApp(AgentA, "B", B);
        StartApp(AgentB, "D", D);
    }

    /// <summary>Waits until both agents run the current documents (after a policy change, too).</summary>
    public Task WaitConfiguredAsync() => ConfigApplied.WaitAsync(Ctl, AgentA, AgentB);

    /// <summary>A counter of the agent's transmission manager, e.g. "negotiations_sent".</summary>
    public static long Tm(AgentProcess agent, string counter) =>
        AgentControl.Stat(agent.ControlSocket)["transmission"]!["counters"]![counter]!.GetValue<long>();

    public static JsonArray Rules(AgentProcess agent)
    {
        JsonNode r = AgentControl.Request(agent.ControlSocket, "{\"op\":\"rules\"}");
        Assert.True(r["ok"]!.GetValue<bool>(), $"rules failed: {r["error"]}");
        return r["rules"]!.AsArray();
    }

    public string Logs() =>
        $"--- overlayd ---\n{Daemon.Log}\n--- agent vmA ---\n{AgentA?.Log}\n--- agent vmB ---\n{AgentB?.Log}";

    private void StartApp(AgentProcess agent, string app, string address)
    {
        var p = Track(AppProcess.Start(agent, app));
        agent.WaitUntil(() => p.HasExited || agent.Namespace.Ip("-4", "addr", "show").Contains(address + "/32", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20), $"address {address} of app {app}");
        Assert.False(p.HasExited, $"overlay-agent run --app {app} exited early: {p.Output()}\n{agent.Log}");
    }

    public T Track<T>(T d)
        where T : IDisposable
    {
        _cleanup.Add(d);
        return d;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(_cleanup))
        {
            d.Dispose();
        }
        await Daemon.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }
}
