using System.Text.Json;
using OverlayKvm.Integration.Tests.Agent;
using OverlayKvm.Integration.Tests.EngineE2e;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Policy;

/// <summary>
/// Issue 7, Show 5 and 6: one policy ("web refuses tcp/22 from web") holds on both paths between VMs — the
/// engine's shared memory between two VMs of one host, and the sealed network path once the engine is off — and
/// route-explain says what happens on each, including within one VM, where the VM's own kernel delivers and the
/// overlay does not police (route-explain says "not enforced").
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class EnginePathPolicyTests(ITestOutputHelper output)
{
    private const string SameVmApp = "10.1.0.3";

    [Fact]
    public async Task DenyTcp22WithinWeb_HoldsOnSameVmEngineAndSealedPaths_RouteExplainAgrees()
    {
        await using var s = await EngineScenario.CreateAsync();
        try
        {
            await s.Ctl.OkAsync("policy-add", "web", "--from", "web", "--proto", "tcp", "--port", "22", "--deny");
            await s.Ctl.OkAsync("app-define", "web", "client2", "--domain", "vmA", "--address", SameVmApp);
            await ConfigApplied.WaitAsync(s.Ctl, s.AgentA, s.AgentB);
            var app = AppProcess.Start(s.AgentA, "client2");
            using var appCleanup = app;
            s.AgentA.WaitUntil(() => app.HasExited || s.A.Ip("-4", "addr", "show").Contains(SameVmApp + "/32", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "client2's address");
            await s.WarmUpAsync();

            using var web = TcpExchange.Listen(s.B, EngineScenario.Server, 80);
            using var ssh = TcpExchange.Listen(s.B, EngineScenario.Server, 22);
            using var localWeb = TcpExchange.Listen(s.A, SameVmApp, 80);
            using var localSsh = TcpExchange.Listen(s.A, SameVmApp, 22);

            // Engine path (same host, same group).
            await Explains(s, EngineScenario.Server, 80, "same-host", "allow", ["engine"]);
            await Explains(s, EngineScenario.Server, 22, "same-host", "deny", ["drop"]);
            var (engine, sealedOut) = (Engine(s), Sealed(s));
            Assert.NotNull(await TcpExchange.GetAsync(s.A, EngineScenario.Client, EngineScenario.Server, 80, TimeSpan.FromSeconds(10)));
            Assert.True(Engine(s) > engine, "tcp/80 did not take the engine");
            // Both agents share this kernel: the receive thread sleeps on a futex doorbell and is woken by the sender.
            var bell = AgentControl.Stat(s.AgentB.ControlSocket)["engine"]!["attached"]![0]!["doorbell"]!;
            output.WriteLine($"vmB doorbell: {bell.ToJsonString()}");
            Assert.True(bell["futexUsable"]!.GetValue<bool>(), "the doorbell fell back to timed sleeps between namespaces of one kernel");
            Assert.True(bell["woken"]!.GetValue<long>() > 0, "vmB's receive thread was never woken by a doorbell");
            Assert.Equal(sealedOut, Sealed(s));
            await RefusedAtSender(s, EngineScenario.Server, ssh);

            // Same VM: the VM's kernel delivers between its own apps; route-explain says so, and so it is
            // (the agent's adapter sees none of it).
            await Explains(s, SameVmApp, 80, "same-vm", "allow", ["local"], "not enforced");
            await Explains(s, SameVmApp, 22, "same-vm", "deny", ["local"], "not enforced");
            long adapterPackets = AgentControl.Counter(s.AgentA.ControlSocket, "web", "local", "packetsOut") + Engine(s) + Sealed(s);
            Assert.NotNull(await TcpExchange.GetAsync(s.A, EngineScenario.Client, SameVmApp, 80, TimeSpan.FromSeconds(10)));
            Assert.NotNull(await TcpExchange.GetAsync(s.A, EngineScenario.Client, SameVmApp, 22, TimeSpan.FromSeconds(10)));
            Assert.Equal(adapterPackets, AgentControl.Counter(s.AgentA.ControlSocket, "web", "local", "packetsOut") + Engine(s) + Sealed(s));

            // Sealed path: the engine is off for web.
            await s.Ctl.OkAsync("engine-disable", "web");
            await Explains(s, EngineScenario.Server, 80, "same-host", "allow", ["encapsulate", "seal"]);
            await Explains(s, EngineScenario.Server, 22, "same-host", "deny", ["drop"]);
            (engine, sealedOut) = (Engine(s), Sealed(s));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (Sealed(s) == sealedOut && DateTime.UtcNow < deadline)
            {
                Assert.NotNull(await TcpExchange.GetAsync(s.A, EngineScenario.Client, EngineScenario.Server, 80, TimeSpan.FromSeconds(10)));
            }
            Assert.True(Sealed(s) > sealedOut, "tcp/80 did not take the sealed path with the engine off");
            await RefusedAtSender(s, EngineScenario.Server, ssh);
            output.WriteLine(AgentControl.Stat(s.AgentA.ControlSocket)["transmission"]!.ToJsonString());
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }

    private static long Engine(EngineScenario s) => EngineScenario.Counter(s.AgentA, "engine", "packetsOut");

    private static long Sealed(EngineScenario s) => EngineScenario.Counter(s.AgentA, "sealed", "packetsOut");

    private async Task RefusedAtSender(EngineScenario s, string server, TcpExchange listener)
    {
        long denied = AgentControl.Drop(s.AgentA.ControlSocket, "denied-egress");
        var (engine, sealedOut) = (Engine(s), Sealed(s));
        Assert.Null(await TcpExchange.GetAsync(s.A, EngineScenario.Client, server, 22, TimeSpan.FromSeconds(2)));
        Assert.True(AgentControl.Drop(s.AgentA.ControlSocket, "denied-egress") > denied, $"tcp/22 to {server}: no denied-egress");
        Assert.Equal(0, listener.Served);
        output.WriteLine($"tcp/22 to {server}: refused; engine +{Engine(s) - engine}, sealed +{Sealed(s) - sealedOut}");
    }

    private async Task Explains(EngineScenario s, string destination, int port, string path, string verdict, string[] actions, string enforcedBy = "sender's agent")
    {
        JsonElement r = await s.Ctl.JsonAsync("route-explain", EngineScenario.Client, destination, "--proto", "tcp", "--port", port.ToString());
        output.WriteLine($"route-explain {destination} tcp/{port}: {r.GetProperty("path")} {r.GetProperty("verdict")} [{string.Join(",", r.GetProperty("actions").EnumerateArray())}]");
        Assert.Equal(path, r.GetProperty("path").GetString());
        Assert.Equal(verdict, r.GetProperty("verdict").GetString());
        Assert.Equal(actions, r.GetProperty("actions").EnumerateArray().Select(a => a.GetString()!).ToArray());
        Assert.StartsWith(enforcedBy, r.GetProperty("enforcedBy").GetString());
    }
}
