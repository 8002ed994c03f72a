using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.Core.Tests.SharedMemory;

public sealed class RingTests : IDisposable
{
    private readonly TempRegion _temp = new(size: 1 << 20, slots: 2);

    [Fact]
    public void TryWrite_ThenTryRead_DeliversTheSameBytes()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        byte[] sent = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        byte[] buffer = new byte[100];

        Assert.Equal(RingWriteResult.Written, producer.TryWrite(sent));
        Assert.Equal(RingReadResult.Message, consumer.TryRead(buffer, out int length));

        Assert.Equal(sent, buffer[..length]);
        Assert.Equal(RingReadResult.Empty, consumer.TryRead(buffer, out _));
    }

    // Issue 14 item 10 (and the `fault` of item 11): the daemon empties a slot's rings when a new domain takes it,
    // but the producer kept its old tail privately, was refused (counted a fault) and republished it, so the new
    // occupant resynchronised onto it and read the previous occupant's unread records.
    [Fact]
    public void SlotHandedToANewOccupant_ProducerStartsOver_NewOccupantReadsNoStaleRecord_NoFault()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        byte[] buffer = new byte[100];
        using (RingConsumer previous = _temp.Region.OpenConsumer(0, 1))
        {
            for (byte i = 1; i <= 3; i++)
            {
                Assert.Equal(RingWriteResult.Written, producer.TryWrite([i, i, i]));
            }
            Assert.Equal(RingReadResult.Message, previous.TryRead(buffer, out _)); // two records left unread
        }

        _temp.Region.ResetRing(0, 1);
        using RingConsumer next = _temp.Region.OpenConsumer(0, 1);
        Assert.Equal(RingWriteResult.Written, producer.TryWrite([9, 9]));

        Assert.Equal(RingReadResult.Message, next.TryRead(buffer, out int length));
        Assert.Equal(new byte[] { 9, 9 }, buffer[..length]);
        Assert.Equal(RingReadResult.Empty, next.TryRead(buffer, out _));
        Assert.Equal(0, producer.Faults.Total);
        Assert.Equal(0, next.Faults.Total);
    }

    [Fact]
    public void RingReset_ALongLivedConsumerFollowsTheNewProducer_WithoutAFault()
    {
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        byte[] buffer = new byte[100];
        using (RingProducer previous = _temp.Region.OpenProducer(0, 1))
        {
            Assert.Equal(RingWriteResult.Written, previous.TryWrite([1]));
            Assert.Equal(RingWriteResult.Written, previous.TryWrite([2]));
            Assert.Equal(RingReadResult.Message, consumer.TryRead(buffer, out _));
        }

        _temp.Region.ResetRing(0, 1);
        using RingProducer next = _temp.Region.OpenProducer(0, 1);
        Assert.Equal(RingWriteResult.Written, next.TryWrite([7]));

        Assert.Equal(RingReadResult.Message, consumer.TryRead(buffer, out int length));
        Assert.Equal(new byte[] { 7 }, buffer[..length]);
        Assert.Equal(0, consumer.Faults.Total);
    }

    [Fact]
    public void Rings_OfDifferentPairs_AreIndependent()
    {
        using RingProducer ab = _temp.Region.OpenProducer(0, 1);
        using RingConsumer ba = _temp.Region.OpenConsumer(1, 0);

        Assert.Equal(RingWriteResult.Written, ab.TryWrite([1]));

        Assert.Equal(RingReadResult.Empty, ba.TryRead(new byte[8], out _));
    }

    [Fact]
    public void TryWrite_EmptyOrOversized_IsInvalidLength()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);

        Assert.Equal(RingWriteResult.InvalidLength, producer.TryWrite([]));
        Assert.Equal(RingWriteResult.InvalidLength, producer.TryWrite(new byte[producer.MaxPayload + 1]));
        Assert.Equal(RingWriteResult.Written, producer.TryWrite(new byte[producer.MaxPayload]));
    }

    [Fact]
    public void TryWrite_WhenFull_ReportsFull_ThenSucceedsAfterARead()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        byte[] message = new byte[1000];
        int written = 0;
        while (producer.TryWrite(message) == RingWriteResult.Written)
        {
            written++;
        }

        Assert.Equal(_temp.Region.Layout.RingCapacity / 1008, written);
        Assert.Equal(RingWriteResult.Full, producer.TryWrite(message));
        Assert.Equal(RingReadResult.Message, consumer.TryRead(new byte[1000], out _));
        Assert.Equal(RingWriteResult.Written, producer.TryWrite(message));
    }

    [Fact]
    public void TryRead_DestinationTooSmall_ConsumesNothing()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        producer.TryWrite(new byte[50]);

        Assert.Equal(RingReadResult.DestinationTooSmall, consumer.TryRead(new byte[10], out int needed));
        Assert.Equal(50, needed);
        Assert.Equal(RingReadResult.Message, consumer.TryRead(new byte[50], out int length));
        Assert.Equal(50, length);
    }

    [Fact]
    public void WrapAround_WithPadding_KeepsOrderAndContent()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        byte[] buffer = new byte[70_000];
        var random = new Random(5);
        for (int i = 0; i < 2000; i++)
        {
            byte[] message = new byte[random.Next(1, 70_000)];
            random.NextBytes(message);
            Assert.Equal(RingWriteResult.Written, producer.TryWrite(message));
            Assert.Equal(RingReadResult.Message, consumer.TryRead(buffer, out int length));
            Assert.True(message.AsSpan().SequenceEqual(buffer.AsSpan(0, length)), $"message {i} differs");
        }

        Assert.True(producer.Wraps > 50 && consumer.Wraps == producer.Wraps, $"wraps: producer {producer.Wraps}, consumer {consumer.Wraps}");
    }

    [Fact]
    public void LargestRecord_NotFittingBeforeTheEnd_PadsFirst_AndIsWrittenOnceSpaceFrees()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        byte[] buffer = new byte[_temp.Region.Layout.RingCapacity];
        Assert.Equal(262_144, _temp.Region.Layout.RingCapacity);
        Assert.Equal(RingWriteResult.Written, producer.TryWrite(new byte[50_000]));
        Assert.Equal(RingWriteResult.Written, producer.TryWrite(new byte[131_000]));
        Assert.Equal(RingReadResult.Message, consumer.TryRead(buffer, out _));

        // 81,128 bytes left before the end: the padding fits, the 131,072-byte record does not fit anywhere yet.
        Assert.Equal(RingWriteResult.Full, producer.TryWrite(buffer.AsSpan(0, producer.MaxPayload)));
        Assert.Equal(1, producer.Wraps);
        Assert.Equal(RingReadResult.Message, consumer.TryRead(buffer, out int second));
        Assert.Equal(131_000, second);
        Assert.Equal(RingReadResult.Empty, consumer.TryRead(buffer, out _)); // consumes the padding
        Assert.Equal(RingWriteResult.Written, producer.TryWrite(buffer.AsSpan(0, producer.MaxPayload)));
        Assert.Equal(RingReadResult.Message, consumer.TryRead(buffer, out int length));
        Assert.Equal(producer.MaxPayload, length);
    }

    [Fact]
    public void UncommittedRead_IsRedeliveredToAReattachedConsumer_CommittedIsNot()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        producer.TryWrite([1]);
        producer.TryWrite([2]);
        producer.TryWrite([3]);
        byte[] buffer = new byte[8];
        using (RingConsumer first = _temp.Region.OpenConsumer(0, 1))
        {
            first.TryRead(buffer, out _);                 // committed: 1
            first.TryRead(buffer, out _, commit: false);  // taken, not committed: 2 ("dies" here)
        }

        using EngineRegion otherProcess = _temp.AttachAgain();
        using RingConsumer second = otherProcess.OpenConsumer(0, 1);

        Assert.Equal(RingReadResult.Message, second.TryRead(buffer, out _));
        Assert.Equal(2, buffer[0]);
        Assert.Equal(RingReadResult.Message, second.TryRead(buffer, out _));
        Assert.Equal(3, buffer[0]);
    }

    [Fact]
    public void RingStatistics_AccountForRecordsAndBytes()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        producer.TryWrite(new byte[100]);
        producer.TryWrite(new byte[23]);
        consumer.TryRead(new byte[100], out _);

        RingStatistics stats = _temp.Region.ReadRingStatistics(0, 1);

        Assert.Equal(new RingStatistics(2, 123, 1, 100, 32), stats);
    }

    [Fact]
    public void WriteAndRead_AllocateNothingPerMessage()
    {
        using RingProducer producer = _temp.Region.OpenProducer(0, 1);
        using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
        byte[] message = new byte[1500];
        byte[] buffer = new byte[1500];
        producer.TryWrite(message);
        consumer.TryRead(buffer, out _); // warm up (JIT, first-call paths)

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            producer.TryWrite(message);
            consumer.TryRead(buffer, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void OpenProducer_ForTheDiagonalOrAMissingSlot_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _temp.Region.OpenProducer(1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _temp.Region.OpenConsumer(0, 2));
    }

    public void Dispose() => _temp.Dispose();
}
