using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Agent;

/// <summary>Show 1 (R0.6, R0.7): apps on two VMs talk through sealed UDP; the underlay sees only the VMs.</summary>
[Collection(AgentCollection.Name)]
public sealed class CrossVmTransferTests
{
    private readonly ITestOutputHelper _output;

    public CrossVmTransferTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task Transfer50MB_ArrivesIntact_AndUnderlayShowsOnlySealedUdpBetweenVms()
    {
        await using var t = await TwoVmTopology.CreateAsync(viaRelay: false);
        t.StartClientAndServer();
        string pcap = Path.Combine(t.Directory, "underlay.pcap");
        using var capture = PacketCapture.Start(t.A, t.DeviceA, pcap);

        byte[] data = TcpTransfer.MakeData(50 * 1024 * 1024);
        var started = DateTime.UtcNow;
        var (sent, received) = await TcpTransfer.RunAsync(t.B, TwoVmTopology.ServerAddress, t.A, TwoVmTopology.ClientAddress, data, TimeSpan.FromSeconds(50));
        var elapsed = DateTime.UtcNow - started;
        var frames = capture.Stop();
        _output.WriteLine($"50 MB in {elapsed.TotalSeconds:F2} s ({data.Length * 8 / elapsed.TotalSeconds / 1e6:F0} Mbit/s), {frames.Count} frames captured");

        Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));

        var allowed = new HashSet<string> { t.OwnAddressA, t.OwnAddressB };
        // With UDP GSO (offloads on) the capture on the sending veth sees each run of frames as one large UDP packet,
        // so what is counted is the sealed bytes, not packets.
        long sealedBytes = 0;
        foreach (var f in frames)
        {
            if (f.EtherType == 0x0806)
            {
                continue; // ARP between the two VMs' own interfaces
            }
            Assert.Equal(0x0800, f.EtherType);
            Assert.True(allowed.Contains(f.Source!) && allowed.Contains(f.Destination!), $"unexpected address on the underlay: {f.Source} -> {f.Destination}");
            Assert.True(f.Protocol == 17, $"non-UDP packet (protocol {f.Protocol}) on the underlay: {f.Source} -> {f.Destination}");
            Assert.True(f.SourcePort == TwoVmTopology.OverlayPort && f.DestinationPort == TwoVmTopology.OverlayPort,
                $"UDP {f.SourcePort}->{f.DestinationPort} is not the overlay port");
            Assert.Equal(-1, f.IpPayload.AsSpan().IndexOf(TcpTransfer.Marker));
            Assert.Equal(OverlayKvm.Core.Wire.SealedFrameHeader.CurrentVersion, f.UdpPayload[0]); // sealed-frame version
            sealedBytes += f.UdpPayload.Length;
        }
        Assert.True(sealedBytes > 50 * 1024 * 1024, $"only {sealedBytes} bytes of sealed frames captured for 50 MB\n{t.Logs()}");
        long bytesIn = AgentControl.Counter(t.AgentB.ControlSocket, "web", "sealed", "bytesIn");
        Assert.True(bytesIn > data.Length, $"vmB counted {bytesIn} sealed bytes in, less than the {data.Length} bytes of payload");
    }
}
