using System.Net;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.Core.Tests.SharedMemory;

public sealed class SlotTableTests : IDisposable
{
    private readonly TempRegion _temp = new(size: 1 << 20, slots: 4);

    [Fact]
    public void Write_ThenRead_FromAnotherMapping_RoundTrips()
    {
        var entry = new SlotEntry("vm-α", [IPAddress.Parse("10.1.0.5"), IPAddress.Parse("fd00::7")], 1_700_000_000_123);
        _temp.Region.Slots.Write(2, entry);
        using EngineRegion other = _temp.AttachAgain();

        Assert.Equal(SlotReadStatus.Valid, other.Slots.TryRead(2, out SlotEntry? read));
        Assert.Equal("vm-α", read!.Domain);
        Assert.Equal(entry.Addresses, read.Addresses);
        Assert.Equal(1_700_000_000_123, read.HeartbeatUnixMs);
        Assert.Equal(SlotReadStatus.Free, other.Slots.TryRead(1, out _));
    }

    [Fact]
    public void Read_AfterAFlippedByte_IsChecksumMismatch()
    {
        _temp.Region.Slots.Write(0, new SlotEntry("vm1", [IPAddress.Parse("10.1.0.5")], 1));
        _temp.Bytes(_temp.Region.Layout.SlotOffset(0) + SlotEntry.DomainOffset, 1)[0] ^= 1;

        Assert.Equal(SlotReadStatus.ChecksumMismatch, _temp.Region.Slots.TryRead(0, out _));
    }

    [Fact]
    public void Read_WithTheSequenceWordStuckOdd_IsTorn_AndTheNextDaemonWriteRecovers()
    {
        _temp.Region.Slots.Write(1, new SlotEntry("vm1", [], 1));
        _temp.Bytes(_temp.Region.Layout.SlotOffset(1), 4)[0] |= 1;

        Assert.Equal(SlotReadStatus.Torn, _temp.Region.Slots.TryRead(1, out _));
        _temp.Region.Slots.Write(1, new SlotEntry("vm1", [], 2));
        Assert.Equal(SlotReadStatus.Valid, _temp.Region.Slots.TryRead(1, out _));
    }

    [Fact]
    public void Read_OutOfRangeSlot_IsReported()
    {
        Assert.Equal(SlotReadStatus.SlotOutOfRange, _temp.Region.Slots.TryRead(4, out _));
        Assert.Equal(SlotReadStatus.SlotOutOfRange, _temp.Region.Slots.TryRead(-1, out _));
    }

    [Fact]
    public void Write_TooLongDomainName_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => _temp.Region.Slots.Write(0, new SlotEntry(new string('x', 65), [], 0)));
    }

    public void Dispose() => _temp.Dispose();
}
