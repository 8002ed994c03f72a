namespace OverlayKvm.Core.Wire;

/// <summary>Type byte of a sealed frame. Unknown types are dropped as malformed; 2 is taken by the engine-path marker (guest-agent EngineFrameMarker).</summary>
internal enum FrameType : byte
{
    /// <summary>The ciphertext is one inner IP packet.</summary>
    Data = 1,

    /// <summary>
    /// The ciphertext is one transmission-management message (seed 004: Is Allowed, Allowed, Not Allowed, Not
    /// Permitted). Sealed, counted and replay-checked exactly like data, so negotiation cannot be forged or replayed.
    /// </summary>
    Control = 3,

    /// <summary>
    /// One inner IP packet in clear, authenticated only (groups whose protection is "authenticated"): the tag covers
    /// header and packet, so nothing can be changed or forged, but the packet is readable on the wire.
    /// </summary>
    AuthenticatedData = 4,

    /// <summary>
    /// One inner IP packet in clear with no tag (seed 002 R14 encapsulation on a trusted segment): only group id and
    /// sender matter, epoch, salt and counter are zero. Receivers accept it only from a VM their document places on a
    /// trusted segment with them (else `clear-untrusted`); never used for control messages.
    /// </summary>
    ClearData = 5,
}
