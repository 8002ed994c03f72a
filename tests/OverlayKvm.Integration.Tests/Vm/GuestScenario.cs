using OverlayKvm.Integration.Tests.E2e;

namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>
/// A guest scenario of packaging/guest-image/scenarios as build.sh --extra puts it into the image: the scenario as
/// /bin/NAME (init runs it with <c>overlaykvm.test=/bin/NAME</c>) and the helpers every scenario sources as
/// /bin/scenario-lib.
/// </summary>
internal static class GuestScenario
{
    public static (string Source, string Destination)[] Extras(string name)
    {
        var directory = Path.Combine(RepoPaths.Root, "packaging", "guest-image", "scenarios");
        return [(Path.Combine(directory, "scenario-lib.sh"), "/bin/scenario-lib"), (Path.Combine(directory, name + ".sh"), "/bin/" + name)];
    }
}
