namespace OverlayKvm.GuestAgent.Engine;

/// <summary>Why a packet for another VM did not go through the engine and took the sealed network path instead.</summary>
internal enum EngineFallback
{
    /// <summary>This VM holds no attachment to the group's region (not registered, region missing, engine absent).</summary>
    NotAttached = 0,
    /// <summary>No current query answer yet (first packet to a destination, or the directory changed); a query was sent.</summary>
    Unresolved = 1,
    /// <summary>The engine answered "not accessible" (other host, other group, expired peer, switched off).</summary>
    NotAccessible = 2,
    /// <summary>The operator switched the group's engine off (seen in the region's control word).</summary>
    Disabled = 3,
    /// <summary>The ring towards the destination was full.</summary>
    Full = 4,
    /// <summary>The ring's indices were inconsistent, or the packet did not fit a ring record.</summary>
    Fault = 5,
}

internal static class EngineFallbacks
{
    public const int Count = 6;

    public static string Name(EngineFallback reason) => reason switch
    {
        EngineFallback.NotAttached => "not-attached",
        EngineFallback.Unresolved => "unresolved",
        EngineFallback.NotAccessible => "not-accessible",
        EngineFallback.Disabled => "disabled",
        EngineFallback.Full => "full",
        EngineFallback.Fault => "fault",
        _ => "unknown",
    };
}
