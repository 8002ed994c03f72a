using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.Bench.Engine;

/// <summary>
/// A region in /dev/shm with both rings between slots 0 and 1, and a partner thread on the far side that either
/// echoes every record (round trips) or drains them (throughput) — the two ends an agent pair would run.
/// </summary>
internal sealed class RingPair : IDisposable
{
    private readonly string _path = $"/dev/shm/okvm-bench-{Guid.NewGuid():N}";
    private readonly EngineRegion _region;
    private readonly Thread _partner;
    private volatile bool _stop;
    private long _drained;

    public RingPair(bool echo)
    {
        var mapping = SharedMemoryMapping.CreateOrOpen(_path, 4 << 20, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null);
        _region = EngineRegion.Initialize(mapping, "stress", slotCount: 2, generation: 1);
        Out = _region.OpenProducer(0, 1);
        In = _region.OpenConsumer(1, 0);
        RingConsumer farIn = _region.OpenConsumer(0, 1);
        RingProducer farOut = _region.OpenProducer(1, 0);
        _partner = new Thread(() => Partner(farIn, farOut, echo)) { IsBackground = true, Name = "ring-partner" };
        _partner.Start();
    }

    public RingProducer Out { get; }

    public RingConsumer In { get; }

    /// <summary>Records the draining partner has consumed so far.</summary>
    public long Drained => Volatile.Read(ref _drained);

    public void Dispose()
    {
        _stop = true;
        _partner.Join();
        Out.Dispose();
        In.Dispose();
        _region.Dispose();
        File.Delete(_path);
    }

    private void Partner(RingConsumer farIn, RingProducer farOut, bool echo)
    {
        byte[] buffer = new byte[_region.Layout.MaxRecordPayload];
        var backoff = new AdaptiveBackoff();
        while (!_stop)
        {
            if (farIn.TryRead(buffer, out int length) != RingReadResult.Message)
            {
                backoff.Idle();
                continue;
            }

            backoff.Reset();
            if (echo)
            {
                while (farOut.TryWrite(buffer.AsSpan(0, length)) == RingWriteResult.Full && !_stop)
                {
                    Thread.SpinWait(1);
                }
            }
            else
            {
                Volatile.Write(ref _drained, _drained + 1);
            }
        }

        farIn.Dispose();
        farOut.Dispose();
    }
}
