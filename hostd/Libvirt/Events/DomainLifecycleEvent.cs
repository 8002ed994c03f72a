namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>One lifecycle event as libvirt delivered it. <paramref name="Sequence"/> orders events of one connection.</summary>
/// <param name="Detail">The kind-specific detail (e.g. for Defined: 0 added, 1 updated); libvirt's numbering.</param>
public sealed record DomainLifecycleEvent(long Sequence, string Domain, Guid Uuid, DomainEventKind Kind, int Detail, DateTimeOffset ReceivedAt);
