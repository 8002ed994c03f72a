namespace OverlayKvm.GuestAgent.Policy;

/// <summary>
/// An entry of a <see cref="PeerQuotaTable{TKey, TValue}"/>: owned by one other VM (its sender index; 0 for this
/// VM's own flows) and stamped with its last use, so a full share can drop what its owner used least recently.
/// </summary>
internal abstract class PeerEntry
{
    /// <summary>A lookup refreshes the stamp at most this often: one write per second per entry, not per packet.</summary>
    private const long TouchGranularityMs = 1000;

    /// <summary>The other VM involved (sender index); 0 when it is this VM (same-VM flow).</summary>
    public uint PeerIndex { get; init; }

    /// <summary>TransmissionManager.NowMs of the last use, to within <see cref="TouchGranularityMs"/>.</summary>
    public long LastUsedMs;

    public void Touch(long nowMs)
    {
        if (nowMs - Volatile.Read(ref LastUsedMs) >= TouchGranularityMs)
        {
            Volatile.Write(ref LastUsedMs, nowMs);
        }
    }
}
