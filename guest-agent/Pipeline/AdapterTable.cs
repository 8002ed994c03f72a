namespace OverlayKvm.GuestAgent.Pipeline;

/// <summary>
/// The running adapters by group id, read by the receive worker for every packet. Copy-on-write: the adapter
/// manager replaces the whole dictionary when an adapter comes or goes (rare), readers take one reference.
/// </summary>
internal sealed class AdapterTable
{
    private Dictionary<uint, IPacketSink> _byGroup = new();
    private readonly Lock _writeLock = new();

    public bool TryGet(uint groupId, out IPacketSink sink)
    {
        return Volatile.Read(ref _byGroup).TryGetValue(groupId, out sink!);
    }

    public void Set(uint groupId, IPacketSink sink)
    {
        lock (_writeLock)
        {
            var next = new Dictionary<uint, IPacketSink>(_byGroup) { [groupId] = sink };
            Volatile.Write(ref _byGroup, next);
        }
    }

    public void Remove(uint groupId)
    {
        lock (_writeLock)
        {
            var next = new Dictionary<uint, IPacketSink>(_byGroup);
            next.Remove(groupId);
            Volatile.Write(ref _byGroup, next);
        }
    }
}
