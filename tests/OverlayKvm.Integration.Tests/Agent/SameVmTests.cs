using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Agent;

/// <summary>Show 2 (R0.6): two apps of one VM talk, and none of it reaches the underlay.</summary>
[Collection(AgentCollection.Name)]
public sealed class SameVmTests
{
    [Fact]
    public async Task TwoAppsOnOneVm_TrafficFlows_AndNeverAppearsOnTheUnderlay()
    {
        await using var t = await TwoVmTopology.CreateAsync(viaRelay: false);
        t.Docs.Apps.Add(new TestApp("alpha", "10.1.0.3", "vmA", 103));
        t.Docs.Apps.Add(new TestApp("beta", "10.1.0.4", "vmA", 104));
        await t.PushAsync();
        t.StartApp(t.AgentA, "alpha", "10.1.0.3");
        t.StartApp(t.AgentA, "beta", "10.1.0.4");
        using var capture = PacketCapture.Start(t.A, t.DeviceA, Path.Combine(t.Directory, "local.pcap"));

        byte[] data = TcpTransfer.MakeData(5 * 1024 * 1024);
        var (sent, received) = await TcpTransfer.RunAsync(t.A, "10.1.0.4", t.A, "10.1.0.3", data, TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        var frames = capture.Stop();

        Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
        Assert.True(frames.Count == 0,
            $"{frames.Count} frames appeared on vmA's underlay during a same-VM transfer, e.g. {frames.FirstOrDefault()?.Source} -> {frames.FirstOrDefault()?.Destination}");
        Assert.Equal(0, AgentControl.Counter(t.AgentA.ControlSocket, "web", "sealed", "packetsOut"));
    }
}
