namespace OverlayKvm.HostDaemon.Tests.Libvirt;

/// <summary>
/// test:///default is one driver instance shared by the whole process: tests that run overlayd's event
/// service (which equips every domain with our metadata) must not overlap with tests that edit metadata.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TestDriverCollection
{
    public const string Name = "libvirt test:///default";
}
