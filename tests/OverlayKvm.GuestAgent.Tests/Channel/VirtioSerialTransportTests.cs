using OverlayKvm.GuestAgent.Channel;

namespace OverlayKvm.GuestAgent.Tests.Channel;

/// <summary>Finding the agent's virtio-serial port by name, against a fake /sys/class/virtio-ports and /dev.</summary>
public sealed class VirtioSerialTransportTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ovk-virtio-test-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Port(string port, string name)
    {
        Directory.CreateDirectory(Path.Combine(_root, "sys", port));
        File.WriteAllText(Path.Combine(_root, "sys", port, "name"), name + "\n");
        Directory.CreateDirectory(Path.Combine(_root, "dev"));
        File.WriteAllText(Path.Combine(_root, "dev", port), "");
    }

    [Fact]
    public void FindPort_PicksThePortNamedForTheAgent()
    {
        Port("vport0p1", "org.qemu.guest_agent.0");
        Port("vport0p2", "org.overlaykvm.agent.0");
        var t = new VirtioSerialTransport(Path.Combine(_root, "sys"), Path.Combine(_root, "dev"));
        Assert.Equal("vport0p2", t.FindPort());
    }

    [Fact]
    public void FindPort_NoSuchPort_ReturnsNull()
    {
        Port("vport0p1", "org.qemu.guest_agent.0");
        Assert.Null(new VirtioSerialTransport(Path.Combine(_root, "sys"), Path.Combine(_root, "dev")).FindPort());
        Assert.Null(new VirtioSerialTransport(Path.Combine(_root, "missing"), Path.Combine(_root, "dev")).FindPort());
    }

    [Fact]
    public async Task ConnectAsync_OpensTheDeviceFile()
    {
        Port("vport1p1", "org.overlaykvm.agent.0");
        var t = new VirtioSerialTransport(Path.Combine(_root, "sys"), Path.Combine(_root, "dev"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await using Stream s = await t.ConnectAsync(cts.Token);
        await s.WriteAsync("x"u8.ToArray(), cts.Token);
        await s.FlushAsync(cts.Token);
        Assert.Equal("x", File.ReadAllText(Path.Combine(_root, "dev", "vport1p1")));
    }
}
