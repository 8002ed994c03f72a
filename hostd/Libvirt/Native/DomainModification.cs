namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>virDomainModificationImpact: which definition a device or metadata change touches.</summary>
[Flags]
public enum DomainModification : uint
{
    /// <summary>Live if the domain runs, persistent otherwise.</summary>
    Current = 0,
    Live = 1 << 0,
    Config = 1 << 1,
}
