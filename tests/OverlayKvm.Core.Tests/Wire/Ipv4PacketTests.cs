using OverlayKvm.Core.Wire;

namespace OverlayKvm.Core.Tests.Wire;

public class Ipv4PacketTests
{
    // 20-byte header, total length 20, 10.1.0.1 -> 10.1.0.2.
    private static readonly byte[] Minimal =
    [
        0x45, 0x00, 0x00, 0x14, 0, 0, 0, 0, 64, 17, 0, 0,
        10, 1, 0, 1,
        10, 1, 0, 2,
    ];

    [Fact]
    public void TryReadAddresses_Valid_ReturnsBigEndianAddresses()
    {
        Assert.True(Ipv4Packet.TryReadAddresses(Minimal, out uint src, out uint dst));
        Assert.Equal(0x0A010001u, src);
        Assert.Equal(0x0A010002u, dst);
    }

    [Theory]
    [InlineData(new byte[] { 0x45, 0, 0, 0x14 })] // truncated
    [InlineData(new byte[] { 0x65, 0, 0, 0x14, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 0, 1, 10, 1, 0, 2 })] // version 6 nibble
    [InlineData(new byte[] { 0x44, 0, 0, 0x14, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 0, 1, 10, 1, 0, 2 })] // IHL 4
    [InlineData(new byte[] { 0x45, 0, 0, 0x15, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 0, 1, 10, 1, 0, 2 })] // total length beyond buffer
    [InlineData(new byte[] { 0x45, 0, 0, 0x13, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 0, 1, 10, 1, 0, 2 })] // total length below header
    [InlineData(new byte[] { 0x46, 0, 0, 0x14, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 0, 1, 10, 1, 0, 2 })] // IHL 6 > total length
    public void TryReadAddresses_Malformed_ReturnsFalse(byte[] packet)
    {
        Assert.False(Ipv4Packet.TryReadAddresses(packet, out _, out _));
    }
}
