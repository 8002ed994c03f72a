namespace OverlayKvm.RingStress;

/// <summary>First payload byte of a benchmark message: what the echo side does with it.</summary>
internal static class EchoProtocol
{
    public const byte Swallow = 0;
    public const byte Echo = 1;
    public const byte Sync = 2;
    public const byte Quit = 3;
}
