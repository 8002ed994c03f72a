namespace OverlayKvm.GuestAgent.Engine;

/// <summary>
/// The "came through the engine" flag of R0.15. Ring records need no flag (the ring proves the origin), but a
/// frame's type byte (offset 1 of the sealed-frame header, docs/sealed-frame.md) reserves the value
/// <see cref="EngineType"/> for engine data: a network frame carrying it is a forgery or a misrouted ring record
/// and is dropped and counted (`engine-claim`) before any other check.
/// </summary>
internal static class EngineFrameMarker
{
    public const int TypeOffset = 1;

    public const byte EngineType = 2;

    /// <summary>
    /// A frame that is a well-formed sealed-frame header (current version, reserved bytes zero, at least a header long)
    /// except that its type says "engine". Random junk rarely matches (2^-32) and stays `malformed`.
    /// </summary>
    public static bool IsClaimed(ReadOnlySpan<byte> frame) =>
        frame.Length >= OverlayKvm.Core.Wire.SealedFrameHeader.Size
        && frame[0] == OverlayKvm.Core.Wire.SealedFrameHeader.CurrentVersion && frame[TypeOffset] == EngineType && frame[2] == 0 && frame[3] == 0;
}
