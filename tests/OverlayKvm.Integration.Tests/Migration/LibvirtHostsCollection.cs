namespace OverlayKvm.Integration.Tests.Migration;

/// <summary>
/// Tests that start their own libvirt daemons (<see cref="LibvirtHost"/>) run alone: <c>LibvirtdFixture</c> takes
/// any running process named libvirtd for the system's daemon, so it must never look while one of ours runs, and
/// TCG guests plus two libvirtds are too much to share 2 cores with other tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LibvirtHostsCollection
{
    public const string Name = "libvirt-hosts";
}
