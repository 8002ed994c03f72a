namespace OverlayKvm.Core.DirectoryService;

/// <summary>
/// What the sending side does to a packet (seed 002 R23 vocabulary, mapped to OverlayKvm's paths). The
/// receiving side applies the inverse in reverse order (open or verify, decapsulate) before its own policy check.
/// The names of <see cref="TransformActions"/> are what configuration documents and route-explain carry.
/// </summary>
public enum TransformAction : byte
{
    /// <summary>Hand the packet to the destination app's adapter in the same VM.</summary>
    Local = 0,
    /// <summary>Write it to the engine's ring for the destination VM (same host, never on a network).</summary>
    Engine = 1,
    /// <summary>Wrap it in an outer header whose addresses are the VMs' own, with group id and sender (inner packet unchanged).</summary>
    Encapsulate = 2,
    /// <summary>AEAD with the group's current key epoch (confidentiality, integrity, replay protection).</summary>
    Seal = 3,
    /// <summary>Policy denied the flow, or the destination is unreachable: dropped at the sender, nothing reaches any network (R4.23).</summary>
    Drop = 4,
    /// <summary>An integrity tag over header and packet with the group's key, the packet left in clear (integrity and replay protection only).</summary>
    Authenticate = 5,
}

/// <summary>The stable lower-case names of <see cref="TransformAction"/> (documents, route-explain) and their parser.</summary>
public static class TransformActions
{
    public static string Name(TransformAction action) => action switch
    {
        TransformAction.Local => "local",
        TransformAction.Engine => "engine",
        TransformAction.Encapsulate => "encapsulate",
        TransformAction.Seal => "seal",
        TransformAction.Authenticate => "authenticate",
        _ => "drop",
    };

    public static bool TryParse(string? name, out TransformAction action)
    {
        foreach (var candidate in Enum.GetValues<TransformAction>())
        {
            if (string.Equals(Name(candidate), name, StringComparison.Ordinal))
            {
                action = candidate;
                return true;
            }
        }

        action = TransformAction.Drop;
        return false;
    }

    public static List<string> Names(IReadOnlyList<TransformAction> actions)
    {
        var names = new List<string>(actions.Count);
        foreach (var action in actions)
        {
            names.Add(Name(action));
        }

        return names;
    }
}
