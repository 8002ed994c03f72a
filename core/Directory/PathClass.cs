namespace OverlayKvm.Core.DirectoryService;

/// <summary>Where the destination is, seen from the source (seed 002 R2, R12): decides the transformation.</summary>
public enum PathClass : byte
{
    /// <summary>Both apps run in one VM: delivered locally, in clear.</summary>
    SameVm = 0,
    /// <summary>Other VM on the same host: the acceleration engine's shared-memory channel, in clear.</summary>
    SameHost = 1,
    /// <summary>Other host, both hosts on an underlay segment the operator declared trusted.</summary>
    TrustedSegment = 2,
    /// <summary>Other host over an underlay not declared trusted: sealed with the group's credentials.</summary>
    Untrusted = 3,
}

/// <summary>The stable names of <see cref="PathClass"/> (documents, route-explain) and their parser.</summary>
public static class PathClasses
{
    public static string Name(PathClass path) => path switch
    {
        PathClass.SameVm => "same-vm",
        PathClass.SameHost => "same-host",
        PathClass.TrustedSegment => "trusted-segment",
        _ => "untrusted",
    };

    public static bool TryParse(string? name, out PathClass path)
    {
        foreach (var candidate in Enum.GetValues<PathClass>())
        {
            if (string.Equals(Name(candidate), name, StringComparison.Ordinal))
            {
                path = candidate;
                return true;
            }
        }

        path = PathClass.Untrusted;
        return false;
    }
}
