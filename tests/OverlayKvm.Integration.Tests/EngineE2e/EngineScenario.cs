using System.Text.Json;
using System.Text.Json.Nodes;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.EngineE2e;

/// <summary>
/// Two "VMs" of group web on one host, driven by a real overlayd: namespaces sa/sb joined by a veth underlay
/// (10.97.0.1 ↔ 10.97.0.2), a real overlay-agent in each that maps the daemon's engine regions from the daemon's
/// engine directory (what ivshmem gives a real VM), overlayd reaching the agents through symlinks in its channel
/// directory, and apps client (10.1.0.1, vmA) and server (10.1.0.2, vmB) running. Everything is removed on
/// dispose, even after a failure.
/// </summary>
internal sealed class EngineScenario : IAsyncDisposable
{
    public const string Client = "10.1.0.1";
    public const string Server = "10.1.0.2";
    private readonly List<IDisposable> _cleanup = new();
    private readonly string _work;

    private EngineScenario(DaemonProcess daemon, string work)
    {
        Daemon = daemon;
        _work = work;
        Ctl = new Overlayctl(daemon.Socket);
    }

    public DaemonProcess Daemon { get; }

    public Overlayctl Ctl { get; }

    public NetNamespace A { get; private set; } = null!;

    public NetNamespace B { get; private set; } = null!;

    public AgentProcess AgentA { get; private set; } = null!;

    public AgentProcess AgentB { get; private set; } = null!;

    public string Work => _work;

    public static async Task<EngineScenario> CreateAsync()
    {
        Prerequisites.RequireRootAndTools("ip", "tcpdump");
        var s = new EngineScenario(new DaemonProcess(), Directory.CreateTempSubdirectory("okvm-eng-").FullName);
        try
        {
            await s.BuildAsync();
            return s;
        }
        catch
        {
            await s.DisposeAsync();
            throw;
        }
    }

    private async Task BuildAsync()
    {
        A = Track(NetNamespace.Create("ea"));
        B = Track(NetNamespace.Create("eb"));
        A.Ip("link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", B.Name);
        A.Ip("addr", "add", "10.97.0.1/24", "dev", "va");
        B.Ip("addr", "add", "10.97.0.2/24", "dev", "vb");
        A.Ip("link", "set", "va", "up");
        B.Ip("link", "set", "vb", "up");

        await Daemon.StartAsync();
        await Ctl.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");
        await Ctl.OkAsync("domain-define", "vmA", "--address", "10.97.0.1");
        await Ctl.OkAsync("domain-define", "vmB", "--address", "10.97.0.2");
        await Ctl.OkAsync("app-define", "web", "client", "--domain", "vmA", "--address", Client);
        await Ctl.OkAsync("app-define", "web", "server", "--domain", "vmB", "--address", Server);

        AgentA = Track(new AgentProcess(A, Path.Combine(_work, "a"), "vmA") { ExtraArguments = ["--engine-dir", Daemon.EngineDir] });
        AgentB = Track(new AgentProcess(B, Path.Combine(_work, "b"), "vmB") { ExtraArguments = ["--engine-dir", Daemon.EngineDir] });
        AgentA.Start();
        AgentB.Start();
        File.CreateSymbolicLink(Path.Combine(Daemon.ChannelDir, "vmA.agent.sock"), AgentA.ChannelSocket);
        File.CreateSymbolicLink(Path.Combine(Daemon.ChannelDir, "vmB.agent.sock"), AgentB.ChannelSocket);

        await WaitConfiguredAsync();
        StartApp(AgentA, "client", Client);
        StartApp(AgentB, "server", Server);
        await WaitAttachedAsync(AgentA);
        await WaitAttachedAsync(AgentB);
    }

    /// <summary>Waits until overlayd reports both agents connected and running the current document.</summary>
    private async Task WaitConfiguredAsync()
    {
        long version = (await Ctl.JsonAsync("domain-config", "vmA")).GetProperty("version").GetInt64();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            JsonElement channels = await Ctl.JsonAsync("channel-list");
            last = channels.GetRawText();
            if (channels.GetArrayLength() == 2 && channels.EnumerateArray().All(c =>
                    c.GetProperty("connected").GetBoolean() && c.GetProperty("acknowledgedVersion").GetInt64() >= version))
            {
                return;
            }
            await Task.Delay(200);
        }
        Assert.Fail($"agents did not apply configuration version {version} within 20 s: {last}");
    }

    /// <summary>Waits until the agent reports an attachment to web's region (register answered, region mapped).</summary>
    public static async Task WaitAttachedAsync(AgentProcess agent)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            JsonNode stat = AgentControl.Stat(agent.ControlSocket);
            if (stat["engine"]?["attached"] is JsonArray attached && attached.Any(a => a!["group"]!.GetValue<string>() == "web"))
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail($"agent {agent.Domain} did not attach to web's engine region within 20 s: {AgentControl.Stat(agent.ControlSocket).ToJsonString()}\n{agent.Log}");
    }

    /// <summary>A counter of web's path on an agent: path "engine" or "sealed", field e.g. "bytesOut".</summary>
    public static long Counter(AgentProcess agent, string path, string field) => AgentControl.Counter(agent.ControlSocket, "web", path, field);

    /// <summary>Sends a small transfer both ways so each agent has a current engine answer for the other app.</summary>
    public async Task WarmUpAsync()
    {
        var data = TcpTransfer.MakeData(64 << 10);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            await TcpTransfer.RunAsync(B, Server, A, Client, data, TimeSpan.FromSeconds(20));
            if (Counter(AgentA, "engine", "packetsOut") > 0 && Counter(AgentB, "engine", "packetsOut") > 0)
            {
                return;
            }
            await Task.Delay(200);
        }
        Assert.Fail($"no packet took the engine path within 20 s: A {AgentControl.Stat(AgentA.ControlSocket).ToJsonString()} B {AgentControl.Stat(AgentB.ControlSocket).ToJsonString()}");
    }

    public async Task<JsonElement> WebEngineStatAsync()
    {
        JsonElement stat = await Ctl.JsonAsync("engine-stat");
        return stat.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("group").GetString() == "web");
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

    private T Track<T>(T d)
        where T : IDisposable
    {
        _cleanup.Add(d);
        return d;
    }

    public async ValueTask DisposeAsync()
    {
        // Apps, agents, then namespaces (removing veths and TUN devices), then the daemon and the work folder.
        foreach (var d in Enumerable.Reverse(_cleanup))
        {
            d.Dispose();
        }
        await Daemon.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }
}
