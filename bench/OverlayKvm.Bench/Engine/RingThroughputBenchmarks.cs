using BenchmarkDotNet.Attributes;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.Bench.Engine;

/// <summary>
/// Throughput of 64 KiB messages from one thread to another: engine ring (the partner drains into a private
/// buffer, as an agent copies out before parsing) beside kernel loopback TCP in the same run. One operation is one
/// 64 KiB message delivered; MB/s = 65,536 / mean time. The ring is bounded by two memcpy passes (in and out)
/// and the memory bandwidth between the cores' caches.
/// </summary>
[MemoryDiagnoser]
public class RingThroughputBenchmarks
{
    private const int Messages = 20_000;
    private const int MessageSize = 64 * 1024;
    private readonly byte[] _message = new byte[MessageSize];
    private RingPair? _ring;
    private TcpPair? _tcp;

    [GlobalSetup(Target = nameof(Ring64KiB))]
    public void SetupRing() => _ring = new RingPair(echo: false);

    [GlobalSetup(Target = nameof(LoopbackTcp64KiB))]
    public void SetupTcp() => _tcp = new TcpPair(echo: false, messageSize: MessageSize);

    [GlobalCleanup]
    public void Cleanup()
    {
        _ring?.Dispose();
        _tcp?.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public void Ring64KiB()
    {
        RingPair ring = _ring!;
        long target = ring.Drained + Messages;
        for (int i = 0; i < Messages; i++)
        {
            while (ring.Out.TryWrite(_message) != RingWriteResult.Written)
            {
                Thread.SpinWait(1);
            }
        }

        while (ring.Drained < target)
        {
            Thread.SpinWait(1);
        }
    }

    [Benchmark(OperationsPerInvoke = Messages, Baseline = true)]
    public void LoopbackTcp64KiB()
    {
        TcpPair tcp = _tcp!;
        long target = tcp.DrainedBytes + (long)Messages * MessageSize;
        for (int i = 0; i < Messages; i++)
        {
            tcp.Near.Send(_message);
        }

        while (tcp.DrainedBytes < target)
        {
            Thread.SpinWait(1);
        }
    }
}
