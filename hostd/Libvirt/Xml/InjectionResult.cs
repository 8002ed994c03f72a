namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>What an injection did to a domain definition. <see cref="Added"/> is empty when it was already equipped.</summary>
/// <param name="Added">Human-readable descriptions of each device added, e.g. "shmem overlaykvm-web (4 MiB)".</param>
/// <param name="Present">Devices that were already there.</param>
public sealed record InjectionResult(string Domain, IReadOnlyList<string> Added, IReadOnlyList<string> Present)
{
    public bool Changed => Added.Count > 0;
}
