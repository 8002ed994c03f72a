namespace OverlayKvm.GuestAgent.Pipeline;

/// <summary>Why the datapath dropped a packet. Each reason has its own counter (R0.10).</summary>
internal enum DropReason
{
    /// <summary>Not a sealed frame of a known group (bad version/type/length, unknown group) or not a valid inner IPv4 packet.</summary>
    Malformed = 0,
    /// <summary>The AEAD tag did not verify: tampered, or sealed with another key.</summary>
    Auth = 1,
    /// <summary>Counter already seen or older than the replay window.</summary>
    Replay = 2,
    /// <summary>Outer source is not the VM the header names, or the inner source is not an app of that VM (or, sending, not a local app).</summary>
    Spoof = 3,
    /// <summary>Destination is not a member of the group, or not an app running here.</summary>
    NoRoute = 4,
    /// <summary>No key for the frame's epoch (unknown, or retired after its grace period), or no key to send with.</summary>
    NoKey = 5,
    /// <summary>The kernel refused the write (TUN or UDP send failed).</summary>
    IoError = 6,
    /// <summary>A network frame whose type says "engine path" (R0.15): engine data never arrives over a network.</summary>
    EngineClaim = 7,
    /// <summary>The sender-side transmission manager refused the flow (a deny rule, a Not Allowed, or a negotiation timeout).</summary>
    DeniedEgress = 8,
    /// <summary>The receiver-side transmission manager refused the flow (R4.11); the sender was told "not permitted".</summary>
    DeniedIngress = 9,
    /// <summary>The flow was being negotiated and the packet could not be held (discard mode, queue full, too many flows).</summary>
    Pending = 10,
    /// <summary>A ring packet from a source the host has not (yet) answered for: slot ownership is taken only from the host's answers (a query is sent).</summary>
    Unverified = 11,
    /// <summary>A clear (unsealed, untagged) frame from a VM the document does not place on a trusted segment with this one.</summary>
    ClearUntrusted = 12,
    /// <summary>A frame sealed with another cipher than its group's (issue 16): never opened with the other cipher.</summary>
    Cipher = 13,
}

internal static class DropReasons
{
    public const int Count = 14;

    /// <summary>Stable lower-case names used by `overlay-agent stat` and the control socket.</summary>
    public static string Name(DropReason reason) => reason switch
    {
        DropReason.Malformed => "malformed",
        DropReason.Auth => "auth",
        DropReason.Replay => "replay",
        DropReason.Spoof => "spoof",
        DropReason.NoRoute => "no-route",
        DropReason.NoKey => "no-key",
        DropReason.IoError => "io-error",
        DropReason.EngineClaim => "engine-claim",
        DropReason.DeniedEgress => "denied-egress",
        DropReason.DeniedIngress => "denied-ingress",
        DropReason.Pending => "pending",
        DropReason.Unverified => "unverified",
        DropReason.ClearUntrusted => "clear-untrusted",
        DropReason.Cipher => "cipher",
        _ => "unknown",
    };
}
