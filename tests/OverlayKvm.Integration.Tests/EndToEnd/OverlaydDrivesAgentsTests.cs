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
        Prerequisites.RequireRootAndTools("ip");
        await using var daemon = new DaemonProcess();
        var work = Directory.CreateTempSubdirectory("okvm-sys-").FullName;
        using var a = NetNamespace.Create("sa");
        using var b = NetNamespace.Create("sb");
        AgentProcess? agentA = null, agentB = null;
        var apps = new List<AppProcess>();
        try
        {
            NetTopology.TwoVms(a, b, "10.98.0");

            await daemon.StartAsync();
            var ctl = new Overlayctl(daemon.Socket);
            await ctl.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");
            await ctl.OkAsync("domain-define", "vmA", "--address", "10.98.0.1");
            await ctl.OkAsync("domain-define", "vmB", "--address", "10.98.0.2");
            await ctl.OkAsync("app-define", "web", "client", "--domain", "vmA", "--address", "10.1.0.1");
            await ctl.OkAsync("app-define", "web", "server", "--domain", "vmB", "--address", "10.1.0.2");

            agentA = new AgentProcess(a, Path.Combine(work, "a"), "vmA");
            agentB = new AgentProcess(b, Path.Combine(work, "b"), "vmB");
            agentA.Start();
            agentB.Start();
            // overlayd looks for DOMAIN.agent.sock in its channel directory (where libvirt would bind the port).
            File.CreateSymbolicLink(Path.Combine(daemon.ChannelDir, "vmA.agent.sock"), agentA.ChannelSocket);
            File.CreateSymbolicLink(Path.Combine(daemon.ChannelDir, "vmB.agent.sock"), agentB.ChannelSocket);

            var version = (await ctl.JsonAsync("domain-config", "vmA")).GetProperty("version").GetInt64();
            await WaitApplied(ctl, version, "initial configuration");

            apps.Add(AppProcess.StartOnAdapter(agentA, "client", "10.1.0.1"));
            apps.Add(AppProcess.StartOnAdapter(agentB, "server", "10.1.0.2"));
            var data = TcpTransfer.MakeData(4 << 20);
            var (sent, received) = await TcpTransfer.RunAsync(b, "10.1.0.2", a, "10.1.0.1", data, TimeSpan.FromSeconds(40));
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));

            await ctl.OkAsync("credentials-rotate", "web", "--grace", "30");
            var rotated = (await ctl.JsonAsync("domain-config", "vmA")).GetProperty("version").GetInt64();
            Assert.True(rotated > version);
            await WaitApplied(ctl, rotated, "rotated credentials");
            (sent, received) = await TcpTransfer.RunAsync(b, "10.1.0.2", a, "10.1.0.1", data, TimeSpan.FromSeconds(40));
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
            output.WriteLine(await ctl.OkAsync("channel-list"));
            // A clean run drops nothing: not even the kernel's own chatter on a fresh adapter.
            foreach (var agent in new[] { agentA, agentB })
                foreach (var reason in new[] { "malformed", "auth", "replay", "spoof", "no-route", "no-key" })
                    Assert.True(AgentControl.Drop(agent.ControlSocket, reason) == 0, $"{agent.Domain} dropped packets as {reason}: {AgentControl.Stat(agent.ControlSocket)}");
        }
        catch
        {
            foreach (var app in apps) output.WriteLine($"--- app {app.App}: {(app.HasExited ? "exited: " + app.Output() : "running")}");
            output.WriteLine($"--- overlayd ---\n{daemon.Log}\n--- agent vmA ---\n{agentA?.Log}\n--- agent vmB ---\n{agentB?.Log}");
            throw;
        }
        finally
        {
            foreach (var app in apps) app.Dispose();
            agentA?.Dispose();
            agentB?.Dispose();
            Directory.Delete(work, recursive: true);
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
