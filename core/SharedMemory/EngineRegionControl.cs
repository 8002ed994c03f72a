namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// Mutable control words after the header (offset 64, native-endian, written only by the daemon):
/// <code>
/// 64 u32 engine state: 1 = enabled, anything else = disabled (senders must use the sealed network path)
/// 72 u64 directory version: bumped on every registration change so agents invalidate cached query answers
/// </code>
/// Not covered by the header checksum (they change while agents run); a guest that scribbles on them can only
/// switch its own group to the network path or make peers re-query, both safe.
/// </summary>
public sealed unsafe class EngineRegionControl
{
    internal const int EngineStateOffset = 64;
    internal const int DirectoryVersionOffset = 72;
    internal const uint EngineEnabled = 1;

    private readonly EngineRegion _owner;
    private readonly byte* _base;

    internal EngineRegionControl(EngineRegion owner, byte* regionBase)
    {
        _owner = owner;
        _base = regionBase;
    }

    // SAFETY (all members): offsets 64 and 72 lie in the header page, inside any valid mapping; the owning region's
    // lease keeps the page mapped until it is disposed, which every member checks first.
    public bool IsEngineEnabled
    {
        get
        {
            _owner.ThrowIfDisposed();
            return Volatile.Read(ref *(uint*)(_base + EngineStateOffset)) == EngineEnabled;
        }
    }

    public ulong DirectoryVersion
    {
        get
        {
            _owner.ThrowIfDisposed();
            return Volatile.Read(ref *(ulong*)(_base + DirectoryVersionOffset));
        }
    }

    // Public because overlayd's assembly is named "overlayd" and core's InternalsVisibleTo names "OverlayKvm.HostDaemon".
    /// <summary>Daemon only: switch the group's engine (agents read <see cref="IsEngineEnabled"/>).</summary>
    public void SetEngineEnabled(bool enabled)
    {
        _owner.ThrowIfDisposed();
        Volatile.Write(ref *(uint*)(_base + EngineStateOffset), enabled ? EngineEnabled : 0u);
    }

    /// <summary>Daemon only: publish the registry's version for this group.</summary>
    public void SetDirectoryVersion(ulong version)
    {
        _owner.ThrowIfDisposed();
        Volatile.Write(ref *(ulong*)(_base + DirectoryVersionOffset), version);
    }
}
