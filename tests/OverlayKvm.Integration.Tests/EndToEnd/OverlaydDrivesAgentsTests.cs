using OverlayKvm.Integration.Tests.Agent;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.EndToEnd;

/// <summary>
/// The whole control path with nothing played by the test: overlayctl defines the group, domains and apps;
/// overlayd connects to each agent's channel socket and pushes the domain's document; the agents apply it and
/// their apps talk over the sealed path. A key rotation reaches both agents as a new version and traffic flows on.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class OverlaydDrivesAgentsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DefinedWithOverlayctl_AgentsConfiguredByOverlayd_AppsTalk_RotationPushed()
    {
        await using var s = await WebGroupScenario.CreateAsync("sa", "sb", "10.98.0", [("server", "10.1.0.2")]);
        var ctl = s.Ctl;
        var apps = new List<AppProcess>();
        try
        {
            var version = (await ctl.JsonAsync("domain-config", "vmA")).GetProperty("version").GetInt64();
            await WaitApplied(ctl, version, "initial configuration");

            apps.Add(s.StartApp(s.AgentA, "client", WebGroupScenario.Client));
            apps.Add(s.StartApp(s.AgentB, "server", "10.1.0.2"));
            var data = TcpTransfer.MakeData(4 << 20);
            var (sent, received) = await TcpTransfer.RunAsync(s.B, "10.1.0.2", s.A, WebGroupScenario.Client, data, TimeSpan.FromSeconds(40));
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));

            await ctl.OkAsync("credentials-rotate", "web", "--grace", "30");
            var rotated = (await ctl.JsonAsync("domain-config", "vmA")).GetProperty("version").GetInt64();
            Assert.True(rotated > version);
            await WaitApplied(ctl, rotated, "rotated credentials");
            (sent, received) = await TcpTransfer.RunAsync(s.B, "10.1.0.2", s.A, WebGroupScenario.Client, data, TimeSpan.FromSeconds(40));
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
            output.WriteLine(await ctl.OkAsync("channel-list"));
            // A clean run drops nothing: not even the kernel's own chatter on a fresh adapter.
            foreach (var agent in new[] { s.AgentA, s.AgentB })
                foreach (var reason in new[] { "malformed", "auth", "replay", "spoof", "no-route", "no-key" })
                    Assert.True(AgentControl.Drop(agent.ControlSocket, reason) == 0, $"{agent.Domain} dropped packets as {reason}: {AgentControl.Stat(agent.ControlSocket)}");
        }
        catch
        {
            foreach (var app in apps) output.WriteLine($"--- app {app.App}: {(app.HasExited ? "exited: " + app.Output() : "running")}");
            output.WriteLine(s.Logs());
            throw;
        }
    }

    /// <summary>Waits until <paramref name="agents"/> channels are connected and have acknowledged <paramref name="version"/>.</summary>
    internal static async Task WaitApplied(Overlayctl ctl, long version, string what, int agents = 2)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            var channels = await ctl.JsonAsync("channel-list");
            last = channels.GetRawText();
            if (channels.GetArrayLength() == agents && channels.EnumerateArray().All(c =>
                    c.GetProperty("connected").GetBoolean() && c.GetProperty("acknowledgedVersion").GetInt64() >= version))
                return;
            await Task.Delay(200);
        }
        Assert.Fail($"agents did not apply {what} (version {version}) within 20 s: {last}");
    }
}
