using System.Buffers.Binary;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.Core.Tests.SharedMemory;

public sealed class EngineRegionHeaderTests
{
    private static readonly EngineRegionLayout Layout = Compute(4L << 20, 4);

    [Fact]
    public void WriteThenRead_RoundTrips()
    {
        byte[] bytes = new byte[64];
        new EngineRegionHeader(42, Layout).Write(bytes);

        Assert.Equal(RegionHeaderStatus.Valid, EngineRegionHeader.TryRead(bytes, Layout.RegionSize, out EngineRegionHeader header));
        Assert.Equal(42UL, header.Generation);
        Assert.Equal(Layout, header.Layout);
    }

    [Theory]
    [InlineData(0, RegionHeaderStatus.BadMagic)]
    [InlineData(8, RegionHeaderStatus.UnsupportedVersion)]
    [InlineData(12, RegionHeaderStatus.ChecksumMismatch)]
    [InlineData(16, RegionHeaderStatus.ChecksumMismatch)]
    [InlineData(32, RegionHeaderStatus.ChecksumMismatch)]
    [InlineData(52, RegionHeaderStatus.ChecksumMismatch)]
    public void Read_OneFlippedByte_IsDetected(int offset, RegionHeaderStatus expected)
    {
        byte[] bytes = new byte[64];
        new EngineRegionHeader(1, Layout).Write(bytes);
        bytes[offset] ^= 0x5A;

        Assert.Equal(expected, EngineRegionHeader.TryRead(bytes, Layout.RegionSize, out _));
    }

    [Fact]
    public void Read_Truncated_IsDetected()
    {
        byte[] bytes = new byte[64];
        new EngineRegionHeader(1, Layout).Write(bytes);

        Assert.Equal(RegionHeaderStatus.Truncated, EngineRegionHeader.TryRead(bytes.AsSpan(0, 63), Layout.RegionSize, out _));
    }

    [Fact]
    public void Read_RegionOfAnotherSize_IsSizeMismatch()
    {
        byte[] bytes = new byte[64];
        new EngineRegionHeader(1, Layout).Write(bytes);

        Assert.Equal(RegionHeaderStatus.SizeMismatch, EngineRegionHeader.TryRead(bytes, Layout.RegionSize * 2, out _));
    }

    [Fact]
    public void Read_ValidChecksumOverForgedRingCapacity_IsLayoutMismatch()
    {
        // A hostile writer can recompute the CRC; the derived offsets must still equal what version 1 computes.
        byte[] bytes = new byte[64];
        new EngineRegionHeader(1, Layout).Write(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(32), (uint)Layout.RingCapacity * 4);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(52), Crc32C.Compute(bytes.AsSpan(0, 52)));

        Assert.Equal(RegionHeaderStatus.LayoutMismatch, EngineRegionHeader.TryRead(bytes, Layout.RegionSize, out _));
    }

    [Fact]
    public void Crc32C_KnownVector()
    {
        // RFC 3720 B.4: CRC-32C of "123456789" is 0xE3069283.
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
    }

    [Fact]
    public void CheckHeader_AfterDaemonReinitialises_ReportsGenerationChanged()
    {
        using var temp = new TempRegion();
        using EngineRegion agentView = temp.AttachAgain();

        new EngineRegionHeader(temp.Region.Generation + 1, temp.Region.Layout).Write(temp.Bytes(0, 64));

        Assert.Equal(RegionHeaderStatus.GenerationChanged, agentView.CheckHeader());
    }

    private static EngineRegionLayout Compute(long size, int slots)
    {
        Assert.True(EngineRegionLayout.TryCompute(size, slots, out EngineRegionLayout layout, out string? error), error);
        return layout;
    }
}
