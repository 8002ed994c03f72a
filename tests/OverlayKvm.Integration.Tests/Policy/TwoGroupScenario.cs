using System.Text.Json.Nodes;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Policy;

/// <summary>
/// Seed 004's example on real processes (<see cref="TwoNamespaceOverlay"/>): vmA (underlay 10.96.0.1) runs app B
/// 10.2.0.2 of group G2, vmB (10.96.0.2) runs app D 10.3.0.4 of group G3. Policies are given by the test with
/// overlayctl's policy-add arguments. Short TTLs keep expiry testable.
/// </summary>
internal sealed class TwoGroupScenario : TwoNamespaceOverlay
{
    public const string AppB = "10.2.0.2";
    public const string AppD = "10.3.0.4";

    private TwoGroupScenario()
        : base("okvm-pol-")
    {
    }

    /// <summary>The agents' deny TTL (--deny-ttl-ms); tests of expiry make it short.</summary>
    public int DenyTtlMs { get; private init; } = 30_000;

    /// <summary>True: the agents map the daemon's engine regions (both VMs are on one host), as EngineScenario's do.</summary>
    public bool Engine { get; private init; }

    public static Task<TwoGroupScenario> CreateAsync(params string[][] policies) => CreateAsync(30_000, policies);

    public static Task<TwoGroupScenario> CreateAsync(int denyTtlMs, params string[][] policies) => CreateAsync(denyTtlMs, false, policies);

    /// <param name="policies">overlayctl policy-add argument lists, added before the agents start.</param>
    public static Task<TwoGroupScenario> CreateAsync(int denyTtlMs, bool engine, params string[][] policies) =>
        BuildAsync(new TwoGroupScenario { DenyTtlMs = denyTtlMs, Engine = engine }, async s =>
        {
            await s.StartUnderlayAsync("pa", "pb", "10.96.0.1", "10.96.0.2");
            await s.Ctl.OkAsync("group-define", "G2", "--cidr", "10.2.0.0/16");
            await s.Ctl.OkAsync("group-define", "G3", "--cidr", "10.3.0.0/16");
            await s.Ctl.OkAsync("app-define", "G2", "B", "--domain", "vmA", "--address", AppB);
            await s.Ctl.OkAsync("app-define", "G3", "D", "--domain", "vmB", "--address", AppD);
            foreach (var policy in policies)
            {
                await s.Ctl.OkAsync(["policy-add", .. policy]);
            }
            string[] engineFlags = engine ? ["--engine-dir", s.Daemon.EngineDir] : ["--no-engine"];
            await s.StartAgentsAsync([.. engineFlags, "--deny-ttl-ms", denyTtlMs.ToString(), "--negotiation-timeout-ms", "800"]);
            s.StartApp(s.AgentA, "B", AppB);
            s.StartApp(s.AgentB, "D", AppD);
        });

    /// <summary>A counter of the agent's transmission manager, e.g. "negotiations_sent".</summary>
    public static long Tm(AgentProcess agent, string counter) =>
        AgentControl.Stat(agent.ControlSocket)["transmission"]!["counters"]![counter]!.GetValue<long>();

    public static JsonArray Rules(AgentProcess agent)
    {
        JsonNode r = AgentControl.Request(agent.ControlSocket, "{\"op\":\"rules\"}");
        Assert.True(r["ok"]!.GetValue<bool>(), $"rules failed: {r["error"]}");
        return r["rules"]!.AsArray();
    }
}
