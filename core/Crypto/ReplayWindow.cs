using System.Numerics;

namespace OverlayKvm.Core.Crypto;

/// <summary>
/// Sliding-window replay protection (the RFC 6479 bitmap scheme, as in IPsec and WireGuard) over 2048 counters.
/// A counter is accepted if it is above everything seen, or inside the window and not yet seen.
/// Use <see cref="IsAcceptable"/> before the (costly) decryption and <see cref="Accept"/> after the frame has
/// been verified and delivered, so forged frames cannot move the window. Single-threaded: one receive worker.
/// </summary>
internal sealed class ReplayWindow
{
    public const int WindowBits = 2048;
    private const int WordBits = 64;
    private const int WordCount = WindowBits / WordBits;
    private const int WordMask = WordCount - 1;
    // One word less than the bitmap: the word being rotated in is partly unusable (RFC 6479 §3).
    private const ulong UsableWindow = WindowBits - WordBits;

    private readonly ulong[] _bits = new ulong[WordCount];
    private ulong _highest;
    private bool _any;

    public ulong Highest => _highest;

    public bool IsAcceptable(ulong counter)
    {
        if (!_any || counter > _highest)
        {
            return true;
        }
        if (_highest - counter >= UsableWindow)
        {
            return false;
        }
        ulong word = _bits[(int)((counter / WordBits) & WordMask)];
        return (word & (1UL << (int)(counter % WordBits))) == 0;
    }

    /// <summary>Marks counter as seen. Returns false if it was not acceptable (replayed or too old).</summary>
    public bool Accept(ulong counter)
    {
        if (!IsAcceptable(counter))
        {
            return false;
        }
        if (!_any || counter > _highest)
        {
            ulong currentWord = _any ? _highest / WordBits : 0;
            ulong newWord = counter / WordBits;
            ulong advance = _any ? newWord - currentWord : WordCount;
            if (advance > WordCount)
            {
                advance = WordCount;
            }
            for (ulong i = 1; i <= advance; i++)
            {
                _bits[(int)((currentWord + i) & WordMask)] = 0;
            }
            _highest = counter;
            _any = true;
        }
        _bits[(int)((counter / WordBits) & WordMask)] |= 1UL << (int)(counter % WordBits);
        return true;
    }

    /// <summary>How many counters inside the window have been seen (diagnostics and tests).</summary>
    public int SeenInWindow()
    {
        int n = 0;
        foreach (ulong w in _bits)
        {
            n += BitOperations.PopCount(w);
        }
        return n;
    }
}
