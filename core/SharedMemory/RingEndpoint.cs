namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// What both ends of one ring keep: its memory (leased while the end lives), the record size limit, the reset
/// generation last seen, the statistics this end publishes, its fault counters and wrap count; released on dispose.
/// <see cref="RingProducer"/> and <see cref="RingConsumer"/> add only the index each owns and how they move it. Plain
/// fields and no virtual member: the per-message paths pay nothing for the sharing.
/// </summary>
public abstract class RingEndpoint : IDisposable
{
    private protected readonly RingMemory _ring;
    private protected readonly int _maxPayload;
    private protected ulong _generation;
    private protected ulong _records;
    private protected ulong _bytes;
    private protected long _wraps;
    private protected bool _disposed;

    /// <param name="index">Where this end resumes: its own published index, repaired if impossible (see <see cref="RingMemory.Resume"/>).</param>
    private protected RingEndpoint(SharedMemoryMapping mapping, long ringOffset, int capacity, int maxPayload, RingEnd end, out ulong index)
    {
        _ring = RingMemory.Attach(mapping, ringOffset, capacity);
        _maxPayload = maxPayload;
        var state = _ring.Resume(end, Faults);
        index = state.Index;
        _generation = state.Generation;
        _records = state.Records;
        _bytes = state.Bytes;
    }

    public RingFaultCounters Faults { get; } = new();

    /// <summary>How often this end's position went back to the ring's start.</summary>
    public long Wraps => Volatile.Read(ref _wraps);

    /// <summary>
    /// The daemon emptied the ring for a new occupant (its reset generation moved): adopt the new generation, start the
    /// statistics again, and return where both ends now start: the head the daemon left, aligned down.
    /// </summary>
    private protected ulong RestartAfterReset()
    {
        _generation = Volatile.Read(ref _ring.Word(RingControl.ResetGenerationOffset));
        _records = 0;
        _bytes = 0;
        return Volatile.Read(ref _ring.Word(RingControl.HeadOffset)) & ~7UL;
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _ring.Release();
        }
    }
}
