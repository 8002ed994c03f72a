using FsCheck;
using FsCheck.Fluent;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.Core.Tests.SharedMemory;

/// <summary>Any sequence of writes and reads behaves like a FIFO queue of byte arrays (the model).</summary>
public sealed class RingModelProperties : IDisposable
{
    private readonly TempRegion _temp = new(size: 1 << 20, slots: 2);

    [Fact]
    public void WritesAndReads_BehaveLikeAQueue()
    {
        Gen<(bool Write, int Size)> op = Gen.Zip(Gen.Elements(true, true, false), Gen.Choose(1, 131_064));
        Prop.ForAll(Gen.ListOf(op).ToArbitrary(), ops =>
        {
            _temp.Region.ResetRing(0, 1);
            using RingProducer producer = _temp.Region.OpenProducer(0, 1);
            using RingConsumer consumer = _temp.Region.OpenConsumer(0, 1);
            var model = new Queue<byte[]>();
            byte[] buffer = new byte[131_064];
            byte stamp = 0;
            foreach ((bool write, int size) in ops)
            {
                if (write)
                {
                    byte[] message = new byte[size];
                    message.AsSpan().Fill(++stamp);
                    message[0] = (byte)(size & 0xFF);
                    RingWriteResult result = producer.TryWrite(message);
                    if (result == RingWriteResult.Written)
                    {
                        model.Enqueue(message);
                    }
                    else if (result != RingWriteResult.Full)
                    {
                        return false;
                    }
                }
                else
                {
                    RingReadResult result = consumer.TryRead(buffer, out int length);
                    if (model.Count == 0)
                    {
                        if (result != RingReadResult.Empty)
                        {
                            return false;
                        }

                        continue;
                    }

                    // A read can find only padding (Empty) right after a wrap; the next read then delivers.
                    if (result == RingReadResult.Empty)
                    {
                        result = consumer.TryRead(buffer, out length);
                    }

                    if (result != RingReadResult.Message || !model.Dequeue().AsSpan().SequenceEqual(buffer.AsSpan(0, length)))
                    {
                        return false;
                    }
                }
            }

            return consumer.Faults.Total == 0 && producer.Faults.Total == 0;
        }).QuickCheckThrowOnFailure();
    }

    public void Dispose() => _temp.Dispose();
}
