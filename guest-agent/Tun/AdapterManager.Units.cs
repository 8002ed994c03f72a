using OverlayKvm.GuestAgent.State;

namespace OverlayKvm.GuestAgent.Tun;

/// <summary>
/// Systemd units as app holders ("services as apps"): a unit counts its app in while it is activating or active,
/// through the same <see cref="CountIn"/>/<see cref="CountOut"/> as `overlay-agent run`, and is never reaped by
/// pid (it has none of its own here: the unit follower counts it out).
/// </summary>
internal sealed partial class AdapterManager
{
    public (int AppCount, int AdapterCount, string Device) RegisterUnit(string app, string? group, string unit) =>
        CountIn(app, group, g => new Registration(g, app, 0, 0, unit));

    public (int AppCount, int AdapterCount) UnregisterUnit(string app, string? group, string unit) =>
        CountOut(app, group, r => r.Unit == unit, $"unit {unit}");

    /// <summary>True when unit holds a registration of app (in group, when given).</summary>
    public bool IsUnitCounted(string app, string? group, string unit)
    {
        lock (_lock)
        {
            return _registrations.Exists(r => r.App == app && (group is null || r.Group == group) && r.Unit == unit);
        }
    }

    /// <summary>True when at least one holder (process or unit) counts app in and its address is configured.</summary>
    public bool IsCountedIn(string app, string? group)
    {
        lock (_lock)
        {
            foreach (var b in _bindings.Values)
            {
                if (b.App == app && (group is null || b.Group == group) && CountApp(b.Group, b.App) > 0)
                {
                    return true;
                }
            }
            return false;
        }
    }

    /// <summary>Units that hold registrations now (e.g. restored from the state file after a restart).</summary>
    public IReadOnlyList<Registration> UnitRegistrations()
    {
        lock (_lock)
        {
            return _registrations.FindAll(r => r.Unit is not null);
        }
    }

    /// <summary>Counts out every unit registration (no bus to follow them on): their apps go down unless a process still holds them.</summary>
    public int DropUnitRegistrations()
    {
        lock (_lock)
        {
            int removed = _registrations.RemoveAll(r => r.Unit is not null);
            if (removed > 0)
            {
                ReleaseUnusedLocked();
                SaveLocked();
            }
            return removed;
        }
    }
}
