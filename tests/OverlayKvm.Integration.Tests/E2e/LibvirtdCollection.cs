namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// Every test class that talks to the system libvirtd joins this collection: domains, networks and the
/// daemons themselves are machine-wide, and two TCG guests booting at once on a 2-core runner would only
/// make both slow and their timings meaningless.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LibvirtdCollection
{
    public const string Name = "libvirtd";
}
