using BenchmarkDotNet.Attributes;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.Bench.Datapath;

/// <summary>
/// The per-packet crypto of the sealed path: seal one inner packet in place, then parse, replay-check and open it.
/// Must report 0 B allocated (DESIGN.md: the hot path allocates nothing).
/// </summary>
[MemoryDiagnoser]
public class SealOpenBenchmark
{
    private readonly byte[] _frame = GC.AllocateArray<byte>(1500 + SealedFrameHeader.Overhead, pinned: true);
    private FrameCipher _tx = null!;
    private FrameCipher _rx = null!;
    private ReplayWindow _window = null!;
    private ulong _counter;

    [Params(64, 1400)]
    public int PacketSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var groupKey = new byte[32];
        Random.Shared.NextBytes(groupKey);
        _tx = FrameCipher.ForSender(groupKey, 1, 1, 7, 0x5A17);
        _rx = FrameCipher.ForSender(groupKey, 1, 1, 7, 0x5A17);
        _window = new ReplayWindow();
        _counter = 1;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _tx.Dispose();
        _rx.Dispose();
    }

    [Benchmark]
    public int Seal()
    {
        var header = new SealedFrameHeader(FrameType.Data, 1, 1, 7, 0x5A17, _counter++);
        return _tx.Seal(header, _frame, PacketSize);
    }

    /// <summary>The `auth` drop path: a frame with a flipped byte must be rejected without an exception or allocation.</summary>
    [Benchmark]
    public int OpenForged()
    {
        var header = new SealedFrameHeader(FrameType.Data, 1, 1, 7, 0x5A17, _counter++);
        int n = _tx.Seal(header, _frame, PacketSize);
        _frame[SealedFrameHeader.Size] ^= 0x80;
        return _rx.Open(header, _frame.AsSpan(0, n));
    }

    [Benchmark]
    public int SealThenOpen()
    {
        var header = new SealedFrameHeader(FrameType.Data, 1, 1, 7, 0x5A17, _counter++);
        int n = _tx.Seal(header, _frame, PacketSize);
        Span<byte> frame = _frame.AsSpan(0, n);
        if (!SealedFrameHeader.TryRead(frame, out var h) || !_window.IsAcceptable(h.Counter))
        {
            return -1;
        }
        int plain = _rx.Open(h, frame);
        _window.Accept(h.Counter);
        return plain;
    }
}
