namespace OverlayKvm.Core.Policy;

/// <summary>
/// What happens when no policy matches (R4.3 "defaults"): by default traffic between groups is denied and
/// traffic within one group is allowed (the group's members trust each other, seed 000).
/// </summary>
public sealed record PolicyDefaults(PolicyVerdict BetweenGroups, PolicyVerdict WithinGroup)
{
    public static PolicyDefaults Standard { get; } = new(PolicyVerdict.Deny, PolicyVerdict.Allow);
}
