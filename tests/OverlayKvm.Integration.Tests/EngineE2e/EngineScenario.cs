using System.Text.Json;
using System.Text.Json.Nodes;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.EngineE2e;

/// <summary>
/// Two "VMs" of group web on one host, driven by a real overlayd: namespaces sa/sb joined by a veth underlay
/// (10.97.0.1 ↔ 10.97.0.2), a real overlay-agent in each that maps the daemon's engine regions from the daemon's
/// engine directory (what ivshmem gives a real VM), overlayd reaching the agents through symlinks in its channel
/// directory, and apps client (10.1.0.1, vmA) and server (10.1.0.2, vmB) running. Everything is removed on
/// dispose, even after a failure.
/// </summary>
internal sealed class EngineScenario : TwoNamespaceOverlay
{
    public const string Client = "10.1.0.1";
    public const string Server = "10.1.0.2";

    private EngineScenario()
        : base("okvm-eng-")
    {
    }

    /// <param name="agentFlags">More `serve` flags for both agents (e.g. ["--tun-offloads", "off"]); with
    /// "--no-engine" among them the agents do not map the regions and the apps talk over the sealed path.</param>
    public static Task<EngineScenario> CreateAsync(params string[] agentFlags) => BuildAsync(new EngineScenario(), async s =>
    {
        await s.StartUnderlayAsync("ea", "eb", "10.97.0.1", "10.97.0.2");
        await s.Ctl.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");
        await s.Ctl.OkAsync("app-define", "web", "client", "--domain", "vmA", "--address", Client);
        await s.Ctl.OkAsync("app-define", "web", "server", "--domain", "vmB", "--address", Server);
        bool engine = !agentFlags.Contains("--no-engine");
        await s.StartAgentsAsync(engine ? ["--engine-dir", s.Daemon.EngineDir, .. agentFlags] : agentFlags);
        s.StartApp(s.AgentA, "client", Client);
        s.StartApp(s.AgentB, "server", Server);
        if (engine)
        {
            await WaitAttachedAsync(s.AgentA);
            await WaitAttachedAsync(s.AgentB);
        }
    });

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

    /// <summary>The daemon's statistics of the ring <paramref name="fromDomain"/> → <paramref name="toDomain"/> in <paramref name="group"/>'s engine-stat.</summary>
    public static JsonElement Ring(JsonElement group, string fromDomain, string toDomain)
    {
        int from = SlotOf(group, fromDomain), to = SlotOf(group, toDomain);
        return group.GetProperty("rings").EnumerateArray().Single(r => r.GetProperty("from").GetInt32() == from && r.GetProperty("to").GetInt32() == to);
    }

    private static int SlotOf(JsonElement group, string domain) =>
        group.GetProperty("slots").EnumerateArray().Single(x => x.GetProperty("domain").GetString() == domain).GetProperty("slot").GetInt32();

    /// <summary>web's region file in overlayd's engine directory (what a hostile writer scribbles on).</summary>
    public string WebRegionPath => Path.Combine(Daemon.EngineDir, "overlaykvm-web");

    /// <summary>
    /// After a disturbance of the rings: new 1 MiB streams (each must arrive intact) until vmA has sent 100 more packets
    /// on the engine path, within <paramref name="within"/>; fails naming <paramref name="after"/> if it did not.
    /// </summary>
    public async Task AssertTrafficReturnsToRingsAsync(TimeSpan within, string after, Xunit.Abstractions.ITestOutputHelper output)
    {
        long engineBefore = Counter(AgentA, "engine", "packetsOut");
        var deadline = DateTime.UtcNow + within;
        while (Counter(AgentA, "engine", "packetsOut") - engineBefore < 100 && DateTime.UtcNow < deadline)
        {
            var data = TcpTransfer.MakeData(1 << 20);
            var (sent, received) = await TcpTransfer.RunAsync(B, Server, A, Client, data, TimeSpan.FromSeconds(20));
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
        }
        output.WriteLine(AgentControl.Stat(AgentA.ControlSocket)["engine"]!.ToJsonString());
        Assert.True(Counter(AgentA, "engine", "packetsOut") - engineBefore >= 100, $"traffic did not return to the engine after {after}");
    }

    public async Task<JsonElement> WebEngineStatAsync()
    {
        JsonElement stat = await Ctl.JsonAsync("engine-stat");
        return stat.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("group").GetString() == "web");
    }
}
