using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.Core.Tests.SharedMemory;

public sealed class EngineRegionLayoutTests
{
    [Fact]
    public void FormatSizes_MatchTheDocumentedLayout()
    {
        Assert.Equal(64, EngineRegionHeader.Size);
        Assert.Equal(8, RingRecord.HeaderSize);
        Assert.Equal(128, EngineRegionLayout.RingControlSize);
        Assert.Equal(512, EngineRegionLayout.SlotSize);
        Assert.Equal(4096, EngineRegionLayout.HeaderPageSize);
        Assert.True(SlotEntry.AddressesOffset + SlotEntry.MaxAddresses * SlotEntry.AddressSize <= SlotEntry.ChecksumOffset);
    }

    [Theory]
    [InlineData(4L << 20, 2, 1 << 20)]
    [InlineData(16L << 20, 8, 256 * 1024)]
    [InlineData(64L << 20, 8, 1 << 20)]
    public void TryCompute_PicksTheLargestPowerOfTwoRingThatFits(long size, int slots, int expectedCapacity)
    {
        Assert.True(EngineRegionLayout.TryCompute(size, slots, out EngineRegionLayout layout, out string? error), error);

        Assert.Equal(expectedCapacity, layout.RingCapacity);
        Assert.True(layout.RingsOffset + layout.RingCount * layout.RingStride <= size);
    }

    [Theory]
    [InlineData(1L << 20, 64)]
    [InlineData(1L << 20, 1)]
    [InlineData(1L << 20, 65)]
    public void TryCompute_ImpossibleLayouts_ExplainWhy(long size, int slots)
    {
        Assert.False(EngineRegionLayout.TryCompute(size, slots, out _, out string? error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void RingOffsets_AreDistinct_NonOverlapping_AndInsideTheRegion()
    {
        Assert.True(EngineRegionLayout.TryCompute(16L << 20, 8, out EngineRegionLayout layout, out _));
        var seen = new HashSet<int>();
        for (int from = 0; from < 8; from++)
        {
            for (int to = 0; to < 8; to++)
            {
                if (from == to)
                {
                    Assert.False(layout.IsValidPair(from, to));
                    continue;
                }

                int index = layout.RingIndex(from, to);
                Assert.InRange(index, 0, layout.RingCount - 1);
                Assert.True(seen.Add(index), $"ring index {index} used twice");
                Assert.True(layout.RingOffset(from, to) + layout.RingStride <= layout.RegionSize);
            }
        }

        Assert.Equal(layout.RingCount, seen.Count);
    }
}
