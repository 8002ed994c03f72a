namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>virDomainEventType (libvirt-domain.h).</summary>
public enum DomainEventKind
{
    Defined = 0,
    Undefined = 1,
    Started = 2,
    Suspended = 3,
    Resumed = 4,
    Stopped = 5,
    Shutdown = 6,
    PmSuspended = 7,
    Crashed = 8,
}
