namespace OverlayKvm.Core.Config;

/// <summary>
/// Routing-table ids inside the VM (seed Table 1: rule "from APP lookup TABLE"). One table per group, derived
/// from the store-assigned group number so the id is the same on every VM, across restarts and unrelated
/// changes. Ids start at 1000 to stay clear of the kernel's reserved tables (253 default, 254 main, 255 local)
/// and of small ids administrators pick by hand.
/// </summary>
public static class RouteTables
{
    public const int Base = 1000;

    public static int ForGroup(int groupNumber) => Base + groupNumber;

    /// <summary>Gateway name of routes that go to the group's overlay adapter (TUN).</summary>
    public const string AdapterGateway = "adapter";

    /// <summary>Gateway name of the fallback route: the VM's main table.</summary>
    public const string MainGateway = "main";

    public const string DefaultDestination = "default";

    /// <summary>Weight of the group route (Table 1).</summary>
    public const int GroupRouteWeight = 100;

    /// <summary>Weight of the default route (Table 1).</summary>
    public const int DefaultRouteWeight = 1;
}
