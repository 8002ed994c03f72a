using OverlayKvm.Core.Config;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.GuestAgent.Config;

/// <summary>
/// A member's action list (decided by the directory's classifier, shipped in the document) compiled to what the send
/// path switches on per packet: one byte instead of a list walk. Only the sequences below exist; the agent adds no rule
/// of its own, it refuses a document whose list it cannot carry out.
/// </summary>
internal enum RoutePlan : byte
{
    /// <summary>[local]: the destination app runs on this VM.</summary>
    Local,
    /// <summary>[engine]: the engine's ring; when the engine refuses, the member's fallback plan.</summary>
    Engine,
    /// <summary>[encapsulate]: a clear frame (trusted segment).</summary>
    Clear,
    /// <summary>[encapsulate, authenticate]: the packet in clear with a tag.</summary>
    Authenticated,
    /// <summary>[encapsulate, seal]: sealed.</summary>
    Sealed,
    /// <summary>[drop]: counted as no-route, nothing is sent.</summary>
    Drop,
}

internal static class RoutePlans
{
    /// <summary>The frame type of a keyed network plan: authenticated (tag only) or sealed.</summary>
    public static FrameType FrameTypeOf(RoutePlan plan) => plan == RoutePlan.Authenticated ? FrameType.AuthenticatedData : FrameType.Data;

    /// <summary>
    /// The member's plan and fallback from its route in the document; false with the problem recorded when the
    /// list is unknown, empty, or does not fit where the member runs (local only on this VM, never local elsewhere).
    /// </summary>
    public static bool TryCompile(MemberConfig member, string path, bool onThisVm, List<string> errors, out RoutePlan plan, out RoutePlan fallback)
    {
        fallback = RoutePlan.Drop;
        if (!PathClasses.TryParse(member.Path, out _))
        {
            errors.Add($"{path}.path: '{member.Path}' is not a path class (same-vm, same-host, trusted-segment, untrusted)");
            plan = RoutePlan.Drop;
            return false;
        }
        if (!TryPlan(member.Actions, out plan))
        {
            errors.Add($"{path}.actions: [{string.Join(", ", member.Actions)}] is not an action list this agent carries out");
            return false;
        }
        if ((plan == RoutePlan.Local) != onThisVm)
        {
            errors.Add($"{path}.actions: [{string.Join(", ", member.Actions)}] for a member {(onThisVm ? "on" : "not on")} this VM");
            return false;
        }
        if (plan == RoutePlan.Engine)
        {
            if (!TryPlan(member.Fallback, out fallback) || fallback is RoutePlan.Local or RoutePlan.Engine)
            {
                errors.Add($"{path}.fallback: [{string.Join(", ", member.Fallback)}] is not a network action list (the engine needs one)");
                return false;
            }
        }
        return true;
    }

    private static bool TryPlan(IReadOnlyList<string> names, out RoutePlan plan)
    {
        plan = RoutePlan.Drop;
        Span<TransformAction> actions = stackalloc TransformAction[2];
        if (names.Count is 0 or > 2)
        {
            return false;
        }
        for (int i = 0; i < names.Count; i++)
        {
            if (!TransformActions.TryParse(names[i], out actions[i]))
            {
                return false;
            }
        }
        plan = (names.Count, actions[0], names.Count == 2 ? actions[1] : actions[0]) switch
        {
            (1, TransformAction.Local, _) => RoutePlan.Local,
            (1, TransformAction.Engine, _) => RoutePlan.Engine,
            (1, TransformAction.Encapsulate, _) => RoutePlan.Clear,
            (1, TransformAction.Drop, _) => RoutePlan.Drop,
            (2, TransformAction.Encapsulate, TransformAction.Seal) => RoutePlan.Sealed,
            (2, TransformAction.Encapsulate, TransformAction.Authenticate) => RoutePlan.Authenticated,
            _ => (RoutePlan)byte.MaxValue,
        };
        return plan != (RoutePlan)byte.MaxValue;
    }
}
