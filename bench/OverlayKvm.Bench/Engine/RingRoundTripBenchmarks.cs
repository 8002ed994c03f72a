using BenchmarkDotNet.Attributes;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.Bench.Engine;

/// <summary>
/// Round trip of a 64-byte message between two threads: engine ring pair (write, partner echoes, read back) beside
/// kernel loopback TCP in the same run. The ring is bounded by cache-line transfers between cores and the
/// partner's polling; TCP by two syscalls and a wake-up per direction.
/// </summary>
[MemoryDiagnoser]
public class RingRoundTripBenchmarks
{
    private const int RoundTrips = 1000;
    private readonly byte[] _message = new byte[64];
    private readonly byte[] _reply = new byte[64];
    private RingPair? _ring;
    private TcpPair? _tcp;

    [GlobalSetup(Target = nameof(Ring64B))]
    public void SetupRing() => _ring = new RingPair(echo: true);

    [GlobalSetup(Target = nameof(LoopbackTcp64B))]
    public void SetupTcp() => _tcp = new TcpPair(echo: true, messageSize: 64);

    [GlobalCleanup]
    public void Cleanup()
    {
        _ring?.Dispose();
        _tcp?.Dispose();
    }

    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public void Ring64B()
    {
        RingPair ring = _ring!;
        for (int i = 0; i < RoundTrips; i++)
        {
            while (ring.Out.TryWrite(_message) != RingWriteResult.Written)
            {
                Thread.SpinWait(1);
            }

            while (ring.In.TryRead(_reply, out _) != RingReadResult.Message)
            {
                Thread.SpinWait(1);
            }
        }
    }

    [Benchmark(OperationsPerInvoke = RoundTrips, Baseline = true)]
    public void LoopbackTcp64B()
    {
        TcpPair tcp = _tcp!;
        for (int i = 0; i < RoundTrips; i++)
        {
            tcp.Near.Send(_message);
            TcpPair.ReceiveExactly(tcp.Near, _reply);
        }
    }
}
