namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// Every test class that talks to the system libvirtd joins the "libvirtd" collection: domains, networks and
/// the daemons themselves are machine-wide, and two TCG guests booting at once on a 2-core runner would only
/// make both slow and their timings meaningless. Test classes name the collection by its literal string, so
/// this definition can give way to another one of the same name (with a collection fixture) in the assembly.
/// </summary>
[CollectionDefinition("libvirtd", DisableParallelization = true)]
public sealed class LibvirtdCollection;
