using OverlayKvm.Core.Wire;

namespace OverlayKvm.Core.Tests.Wire;

public class VirtioNetHeaderTests
{
    [Fact]
    public void TryRead_ReadsLittleEndianFields_AndWriteRoundTrips()
    {
        byte[] raw = [0x01, 0x01, 0x34, 0x00, 0x78, 0x05, 0x14, 0x00, 0x10, 0x00];
        Assert.True(VirtioNetHeader.TryRead(raw, out VirtioNetHeader h));
        Assert.Equal(new VirtioNetHeader(1, VirtioNetHeader.GsoTcpV4, 52, 1400, 20, 16), h);
        var back = new byte[VirtioNetHeader.Size];
        h.Write(back);
        Assert.Equal(raw, back);
    }

    [Fact]
    public void TryRead_ShortInput_IsRefused()
    {
        Assert.False(VirtioNetHeader.TryRead(new byte[VirtioNetHeader.Size - 1], out _));
    }
}
