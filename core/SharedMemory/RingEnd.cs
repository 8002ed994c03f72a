namespace OverlayKvm.Core.SharedMemory;

/// <summary>Which index of a ring an endpoint owns: the producer the tail, the consumer the head.</summary>
internal enum RingEnd
{
    Producer,
    Consumer,
}

/// <summary>What an endpoint resumes from at attach: its own index, the reset generation it has seen, its statistics.</summary>
internal readonly record struct RingEndState(ulong Index, ulong Generation, ulong Records, ulong Bytes);
