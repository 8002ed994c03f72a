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
}
