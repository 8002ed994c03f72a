using OverlayKvm.Core.Model;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.Core.Crypto;

/// <summary>Why <see cref="SenderStreams.Check"/> refused a frame before any decryption.</summary>
internal enum StreamCheck : byte
{
    Acceptable = 0,
    /// <summary>Counter already seen, behind the window, or a stream older than the current one or than the skew.</summary>
    Replay = 1,
    /// <summary>A new stream's key was derived too recently for this sender: try again later (forged-salt flood).</summary>
    Throttled = 2,
}

/// <summary>
/// Receive state of one sender in one key epoch (issue 14 items 4 and 5): the sender's current stream (its salt,
/// cipher and replay window) and at most one candidate stream, not yet proven. A frame of the current stream is
/// checked against its window. A frame with another salt starts a candidate only if it is fresh — its counter
/// (the sender's clock in ns, <see cref="FrameCounter"/>) within <c>maxSkew</c> of this VM's clock and above
/// everything the current stream sent — and becomes the current stream once it has opened and been delivered.
/// So: a sender that restarts (or a restored VM, which draws a new salt) is followed at once; frames recorded
/// before a restart of either end replay only if younger than the skew; frames of an older stream never replay.
/// Deriving a candidate costs an HKDF and a cipher context, so it happens at most every <see cref="CandidateInterval"/>.
/// Single-threaded (the receive worker). The steady path (current stream) allocates nothing.
/// </summary>
internal sealed class SenderStreams : IDisposable
{
    /// <summary>Fewest milliseconds between two candidate derivations for one sender (bounds a forged-salt flood).</summary>
    public const long CandidateInterval = 50;

    /// <summary>
    /// How far a new stream's first counter may be from this VM's clock: the bound on replaying frames recorded
    /// before a restart, and the clock difference between VMs that is tolerated (their clocks follow their hosts').
    /// </summary>
    public static readonly TimeSpan DefaultMaxSkew = TimeSpan.FromSeconds(60);

    private readonly byte[] _senderKey;
    private readonly TimeProvider _time;
    private readonly long _maxSkewNs;
    private Stream? _current;
    private Stream? _candidate;
    private long _lastCandidateMs = long.MinValue / 2;

    private readonly GroupCipher _cipher;

    /// <param name="cipher">The group's cipher: every stream of this sender is opened with it, never another.</param>
    public SenderStreams(ReadOnlySpan<byte> senderKey, TimeProvider time, TimeSpan maxSkew, GroupCipher cipher = GroupCipher.ChaCha20Poly1305)
    {
        _cipher = cipher;
        _senderKey = senderKey.ToArray();
        _time = time;
        _maxSkewNs = maxSkew.Ticks * 100;
    }

    /// <summary>The group's cipher these streams open with.</summary>
    public GroupCipher Cipher => _cipher;

    /// <summary>The current stream's salt (0: none yet).</summary>
    public ulong CurrentSalt => _current?.Salt ?? 0;

    /// <summary>Highest counter seen in the current stream (0: none).</summary>
    public ulong Highest => _current?.Window.Highest ?? 0;

    /// <summary>Cheap checks before decryption; may derive a candidate stream for a new salt.</summary>
    public StreamCheck Check(in SealedFrameHeader header)
    {
        if (_current is not null && _current.Salt == header.Salt)
        {
            return _current.Window.IsAcceptable(header.Counter) ? StreamCheck.Acceptable : StreamCheck.Replay;
        }
        if (!IsFresh(header.Counter) || (_current is not null && header.Counter <= _current.Window.Highest))
        {
            return StreamCheck.Replay;
        }
        if (_candidate is not null && _candidate.Salt == header.Salt)
        {
            return _candidate.Window.IsAcceptable(header.Counter) ? StreamCheck.Acceptable : StreamCheck.Replay;
        }
        long nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (nowMs - _lastCandidateMs < CandidateInterval)
        {
            return StreamCheck.Throttled;
        }
        _lastCandidateMs = nowMs;
        _candidate?.Dispose();
        _candidate = new Stream(header.Salt, FrameCipher.ForStream(_senderKey, header.Salt, _cipher));
        return StreamCheck.Acceptable;
    }

    /// <summary>Opens a frame <see cref="Check"/> accepted. Returns the plaintext length, or -1 (tag, or no such stream).</summary>
    public int Open(in SealedFrameHeader header, Span<byte> frame)
    {
        Stream? stream = StreamOf(header.Salt);
        return stream is null ? -1 : stream.Cipher.Open(header, frame);
    }

    /// <summary>
    /// Marks an opened, delivered frame's counter seen. A candidate's first such frame makes it the current stream
    /// (the previous one is dropped: its frames are older than this one's).
    /// </summary>
    public void Accept(in SealedFrameHeader header)
    {
        if (_current is not null && _current.Salt == header.Salt)
        {
            _current.Window.Accept(header.Counter);
            return;
        }
        if (_candidate is not null && _candidate.Salt == header.Salt)
        {
            _current?.Dispose();
            _current = _candidate;
            _candidate = null;
            _current.Window.Accept(header.Counter);
        }
    }

    /// <summary>True once disposed: the streams' ciphers are freed and the sender key is zeroed.</summary>
    public bool IsDisposed { get; private set; }

    public void Dispose()
    {
        IsDisposed = true;
        _current?.Dispose();
        _candidate?.Dispose();
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(_senderKey);
    }

    private Stream? StreamOf(ulong salt) =>
        _current is not null && _current.Salt == salt ? _current : _candidate is not null && _candidate.Salt == salt ? _candidate : null;

    private bool IsFresh(ulong counter)
    {
        long now = (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
        long age = now - (long)counter;
        return age <= _maxSkewNs && age >= -_maxSkewNs;
    }

    private sealed class Stream(ulong salt, FrameCipher cipher) : IDisposable
    {
        public ulong Salt { get; } = salt;

        public FrameCipher Cipher { get; } = cipher;

        public ReplayWindow Window { get; } = new();

        public void Dispose() => Cipher.Dispose();
    }
}
