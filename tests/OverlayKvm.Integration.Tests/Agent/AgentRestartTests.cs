using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Agent;

/// <summary>Show 6 (R0.8): the agent is killed while idle and restarted; adapters are reconciled with the apps still running.</summary>
[Collection(AgentCollection.Name)]
public sealed class AgentRestartTests
{
    [Fact]
    public async Task KillAndRestartAgent_AppsKeepAddresses_AdapterReconciled_TrafficResumes()
    {
        await using var t = await TwoVmTopology.CreateAsync(viaRelay: false);
        var (client, _) = t.StartClientAndServer();
        var (sent, received) = await TcpTransfer.RunAsync(t.B, TwoVmTopology.ServerAddress, t.A, TwoVmTopology.ClientAddress, TcpTransfer.MakeData(1 << 20), TimeSpan.FromSeconds(30));
        Assert.Equal(sent, received);

        t.AgentA.Kill();
        // While the agent is gone the app keeps its address and rule: the adapter is a persistent device.
        Assert.Contains(TwoVmTopology.ClientAddress + "/32", t.A.Ip("-4", "addr", "show"));
        Assert.Contains($"from {TwoVmTopology.ClientAddress} lookup 101", t.A.Ip("rule", "show"));
        Assert.False(client.HasExited, "the app wrapper died with the agent");

        t.AgentA.Start();
        await t.ReconnectAAsync();
        var adapters = AgentControl.Stat(t.AgentA.ControlSocket)["adapters"]!.AsArray();
        Assert.Single(adapters);
        Assert.Equal(1, adapters[0]!["count"]!.GetValue<int>());
        Assert.Equal("client", adapters[0]!["apps"]![0]!.GetValue<string>());
        Assert.Contains("re-attached", t.AgentA.Log);

        (sent, received) = await TcpTransfer.RunAsync(t.B, TwoVmTopology.ServerAddress, t.A, TwoVmTopology.ClientAddress, TcpTransfer.MakeData(1 << 20), TimeSpan.FromSeconds(30));
        Assert.Equal(sent, received);

        // The reconciled registration still counts: stopping the app removes the adapter.
        client.Stop();
        Assert.DoesNotContain(TwoVmTopology.ClientAddress + "/32", t.A.Ip("-4", "addr", "show"));
        Assert.DoesNotContain(": ovk", t.A.Ip("-o", "link", "show"));
    }
}
