using System.Net;
using FsCheck;
using FsCheck.Fluent;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.Core.Tests.SharedMemory;

/// <summary>
/// Issue 4, Show 5: the other side of a ring (and any guest of the group) can write anything anywhere in the
/// region. Readers must detect it (bounds, record checks, header checksum, generation), drop, count, and go on:
/// no exception, no read outside the ring (every access goes through bounds-checked spans or checked offsets,
/// so an out-of-bounds read would surface here as an exception or a crash).
/// </summary>
public sealed class HostileRegionTests : IDisposable
{
    private readonly TempRegion _temp = new(size: 1 << 20, slots: 2);

    private long RingOffset => _temp.Region.Layout.RingOffset(0, 1);

    private Span<byte> Control => _temp.Bytes(RingOffset, EngineRegionLayout.RingControlSize);

    private Span<byte> Data => _temp.Bytes(RingOffset + EngineRegionLayout.RingControlSize, _temp.Region.Layout.RingCapacity);

    [Fact]
    public void CorruptRecordHeader_IsDroppedAndCounted_AndTheRingKeepsWorking()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        producer.TryWrite(new byte[100]);
        producer.TryWrite(new byte[100]);
        Data[0] ^= 0xFF;

        Assert.Equal(RingReadResult.Corrupt, consumer.TryRead(new byte[200], out _));
        Assert.Equal(1, consumer.Faults.Get(RingFault.RecordCheckMismatch));
        Assert.Equal(224, consumer.Faults.DroppedBytes); // two records of 8 + 100 bytes, 8-aligned
        Assert.Equal(RingWriteResult.Written, producer.TryWrite([9]));
        Assert.Equal(RingReadResult.Message, consumer.TryRead(new byte[200], out int length));
        Assert.Equal(1, length);
    }

    [Theory]
    [InlineData(0x7FFF_FFFFu)] // longer than the max payload
    [InlineData(0u)]           // empty record
    [InlineData(5000u)]        // longer than what was written
    public void ForgedRecordLength_WithMatchingCheckWord_IsRecordLengthInvalid(uint forged)
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        producer.TryWrite(new byte[64]);
        BitConverter.TryWriteBytes(Data[..4], forged);
        BitConverter.TryWriteBytes(Data.Slice(4, 4), ~forged);

        Assert.Equal(RingReadResult.Corrupt, consumer.TryRead(new byte[1 << 20], out _));
        Assert.Equal(1, consumer.Faults.Get(RingFault.RecordLengthInvalid));
    }

    [Fact]
    public void ForgedPaddingRecord_NotEndingAtTheRingEnd_IsPaddingInvalid()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        producer.TryWrite(new byte[64]);
        uint pad = 0x8000_0000u | 56;
        BitConverter.TryWriteBytes(Data[..4], pad);
        BitConverter.TryWriteBytes(Data.Slice(4, 4), ~pad);

        Assert.Equal(RingReadResult.Corrupt, consumer.TryRead(new byte[100], out _));
        Assert.Equal(1, consumer.Faults.Get(RingFault.PaddingInvalid));
    }

    [Fact]
    public void GarbageTail_IsDetected_AndTheRingHealsOnTheProducersNextWrite()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        producer.TryWrite([1]);
        BitConverter.TryWriteBytes(Control[..8], 0xDEAD_BEEF_0000_0003UL);

        Assert.Equal(RingReadResult.Corrupt, consumer.TryRead(new byte[8], out _));
        Assert.Equal(1, consumer.Faults.Get(RingFault.ForeignIndexInvalid));
        // The consumer followed the garbage tail; the producer sees an impossible head, refuses and republishes.
        Assert.Equal(RingWriteResult.Corrupt, producer.TryWrite([2]));
        Assert.Equal(RingReadResult.Corrupt, consumer.TryRead(new byte[8], out _));
        Assert.Equal(RingWriteResult.Written, producer.TryWrite([3]));
        Assert.Equal(RingReadResult.Message, consumer.TryRead(new byte[8], out _));
    }

    [Fact]
    public void GarbageHead_WhileTheRingIsIdle_IsRepairedByTheConsumer_AndTheProducerRecovers()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        producer.TryWrite([1]);
        consumer.TryRead(new byte[8], out _);
        BitConverter.TryWriteBytes(Control.Slice(64, 8), 0xABCD_EF01_2345_6788UL);

        Assert.Equal(RingWriteResult.Corrupt, producer.TryWrite([2]));
        Assert.Equal(RingReadResult.Empty, consumer.TryRead(new byte[8], out _));
        Assert.Equal(1, consumer.Faults.Get(RingFault.OwnIndexInvalid));
        Assert.Equal(RingWriteResult.Written, producer.TryWrite([3]));
        Assert.Equal(RingReadResult.Message, consumer.TryRead(new byte[8], out _));
    }

    [Fact]
    public void GarbageOwnIndex_AtAttach_IsCountedAndReset()
    {
        BitConverter.TryWriteBytes(Control.Slice(64, 8), 12345UL);
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);

        Assert.Equal(1, consumer.Faults.Get(RingFault.OwnIndexInvalid));
        Assert.Equal(RingWriteResult.Written, producer.TryWrite([7]));
        Assert.Equal(RingReadResult.Message, consumer.TryRead(new byte[8], out _));
    }

    [Fact]
    public void GarbageHeadAndMisalignedTail_AtAttach_LeaveBothEndsAligned_AndTheRingUsable()
    {
        BitConverter.TryWriteBytes(Control[..8], 0x1_0000_0005UL);   // tail: misaligned, far away
        BitConverter.TryWriteBytes(Control.Slice(64, 8), 77UL);      // head: garbage
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);

        Assert.Equal(0UL, consumer.Head % 8);
        Assert.Equal(1, consumer.Faults.Get(RingFault.OwnIndexInvalid));
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        Assert.Equal(1, producer.Faults.Get(RingFault.OwnIndexInvalid));
        Assert.Equal(RingWriteResult.Written, producer.TryWrite([5, 6]));
        Assert.Equal(RingReadResult.Message, consumer.TryRead(new byte[8], out int length));
        Assert.Equal(2, length);
    }

    [Fact]
    public void CorruptHeader_IsDetectedByCheckHeader_AndRepairedByTheOwner()
    {
        _temp.Bytes(20, 1)[0] ^= 0x10;

        Assert.Equal(RegionHeaderStatus.ChecksumMismatch, _temp.Region.CheckHeader());
        _temp.Region.RewriteHeader();
        Assert.Equal(RegionHeaderStatus.Valid, _temp.Region.CheckHeader());
    }

    [Fact]
    public void RandomBytes_OverTheWholeRing_NeverThrow_AndEveryDeliveredRecordIsWithinBounds()
    {
        Prop.ForAll(Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(),
            (noise, seed) =>
            {
                using RingProducer producer = _temp.Region.OpenProducer(0, 1);
                using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
                producer.TryWrite(new byte[300]);
                producer.TryWrite(new byte[40]);
                var random = new Random(seed);
                Span<byte> ring = _temp.Bytes(RingOffset, EngineRegionLayout.RingControlSize + 4096);
                foreach (byte b in noise)
                {
                    ring[random.Next(ring.Length)] = b;
                }

                byte[] buffer = new byte[_temp.Region.Layout.MaxRecordPayload];
                for (int i = 0; i < 8; i++)
                {
                    RingReadResult result = consumer.TryRead(buffer, out int length);
                    if (result == RingReadResult.Message && (length < 1 || length > buffer.Length))
                    {
                        return false;
                    }

                    producer.TryWrite(new byte[1 + random.Next(500)]);
                }

                return true;
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void ScribblerThread_AgainstRunningReaders_DetectsDropsCountsNeverThrows()
    {
        using EngineRegion agentA = _temp.AttachAgain();
        using EngineRegion agentB = _temp.AttachAgain();
        _temp.Region.Slots.Write(0, new SlotEntry("vm-a", [IPAddress.Parse("10.1.0.1")], 1));
        _temp.Region.Slots.Write(1, new SlotEntry("vm-b", [IPAddress.Parse("10.1.0.2")], 1));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        long messages = 0, corrupt = 0, headerFaults = 0, slotFaults = 0;
        Exception? failure = null;

        void Guard(Action body)
        {
            try
            {
                body();
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, e, null);
            }
        }

        var producerThread = new Thread(() => Guard(() =>
        {
            using RingProducer producer = agentA.OpenProducer(0, 1);
            byte[] message = new byte[700];
            while (!stop.IsCancellationRequested)
            {
                producer.TryWrite(message);
            }
        }));
        var consumerThread = new Thread(() => Guard(() =>
        {
            using RingConsumer consumer = agentB.OpenConsumer(0, 1);
            byte[] buffer = new byte[agentB.Layout.MaxRecordPayload];
            while (!stop.IsCancellationRequested)
            {
                switch (consumer.TryRead(buffer, out _))
                {
                    case RingReadResult.Message: messages++; break;
                    case RingReadResult.Corrupt: corrupt++; break;
                }

                if (agentB.CheckHeader() != RegionHeaderStatus.Valid)
                {
                    headerFaults++;
                }

                if (agentB.Slots.TryRead((int)(messages & 1), out _) is not (SlotReadStatus.Valid or SlotReadStatus.Torn))
                {
                    slotFaults++;
                }
            }
        }));
        var scribbler = new Thread(() => Guard(() =>
        {
            var random = new Random(11);
            Span<byte> header = _temp.Bytes(0, 64);
            Span<byte> slots = _temp.Bytes(_temp.Region.Layout.SlotTableOffset, 2 * EngineRegionLayout.SlotSize);
            Span<byte> ring = _temp.Bytes(RingOffset, EngineRegionLayout.RingControlSize + _temp.Region.Layout.RingCapacity);
            while (!stop.IsCancellationRequested)
            {
                header[random.Next(header.Length)] = (byte)random.Next(256);
                slots[random.Next(slots.Length)] = (byte)random.Next(256);
                ring[random.Next(EngineRegionLayout.RingControlSize)] = (byte)random.Next(256);
                ring[random.Next(ring.Length)] = (byte)random.Next(256);
                Thread.SpinWait(2000);
            }
        }));

        producerThread.Start();
        consumerThread.Start();
        scribbler.Start();
        producerThread.Join();
        consumerThread.Join();
        scribbler.Join();

        Assert.Null(failure);
        Assert.True(corrupt > 0, "the scribbler's ring damage must be detected");
        Assert.True(headerFaults > 0, "the scribbler's header damage must be detected");
        Assert.True(slotFaults > 0, "the scribbler's slot damage must be detected");
        Assert.True(messages > 0, "records must still flow between corruptions");
    }

    public void Dispose() => _temp.Dispose();
}
