using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.Core.Tests.Crypto;

/// <summary>Issue 14 item 5: receive streams per (sender, salt), fresh-only new streams, no replay across restarts.</summary>
public sealed class SenderStreamsTests
{
    private static readonly byte[] SenderKey = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void FirstStream_FreshCounterOpens_ReplayOfItRefused()
    {
        var clock = new Clock(Start);
        using var streams = new SenderStreams(SenderKey, clock, TimeSpan.FromSeconds(60));
        byte[] frame = Seal(salt: 1, Ns(Start));
        Assert.Equal(PayloadLength, Receive(streams, (byte[])frame.Clone()));
        Assert.Equal(-2, Receive(streams, frame));
        Assert.Equal(1UL, streams.CurrentSalt);
    }

    [Fact]
    public void NewStream_OlderThanTheSkew_Refused_EvenWithNoStateAtAll()
    {
        var clock = new Clock(Start + TimeSpan.FromMinutes(5));
        using var streams = new SenderStreams(SenderKey, clock, TimeSpan.FromSeconds(60));
        Assert.Equal(-2, Receive(streams, Seal(salt: 1, Ns(Start))));
        Assert.Equal(-2, Receive(streams, Seal(salt: 1, Ns(Start + TimeSpan.FromMinutes(10))))); // from the future
        Assert.Equal(PayloadLength, Receive(streams, Seal(salt: 1, Ns(clock.Now - TimeSpan.FromSeconds(30)))));
    }

    [Fact]
    public void SenderRestarts_NewSaltFollowed_OldSaltsFramesRefusedEvenInsideTheSkew()
    {
        var clock = new Clock(Start);
        using var streams = new SenderStreams(SenderKey, clock, TimeSpan.FromSeconds(60));
        byte[] oldSeen = Seal(salt: 1, Ns(Start));
        byte[] oldUnseen = Seal(salt: 1, Ns(Start) + 5);
        Assert.Equal(PayloadLength, Receive(streams, (byte[])oldSeen.Clone()));

        clock.Now += TimeSpan.FromSeconds(2);
        Assert.Equal(PayloadLength, Receive(streams, Seal(salt: 2, Ns(clock.Now))));
        Assert.Equal(2UL, streams.CurrentSalt);
        Assert.Equal(-2, Receive(streams, oldSeen));
        Assert.Equal(-2, Receive(streams, oldUnseen));
    }

    [Fact]
    public void ForgedSalts_AFloodDerivesAtMostOneCandidatePerInterval_AndNeverMovesTheStream()
    {
        var clock = new Clock(Start);
        using var streams = new SenderStreams(SenderKey, clock, TimeSpan.FromSeconds(60));
        Assert.Equal(PayloadLength, Receive(streams, Seal(salt: 1, Ns(Start))));
        int throttled = 0;
        for (ulong salt = 100; salt < 1100; salt++)
        {
            byte[] forged = Seal(salt, Ns(Start) + 1000);
            forged[^1] ^= 1; // no key: the tag cannot verify
            var header = Header(forged);
            if (streams.Check(header) == StreamCheck.Throttled)
            {
                throttled++;
                continue;
            }
            Assert.Equal(-1, streams.Open(header, forged));
        }
        Assert.True(throttled >= 990, $"only {throttled} of 1000 forged salts throttled");
        Assert.Equal(1UL, streams.CurrentSalt);
    }

    private const int PayloadLength = 40;

    /// <summary>Check, open, accept as the receive path does: plaintext length, -1 for auth, -2 for refused.</summary>
    private static int Receive(SenderStreams streams, byte[] frame)
    {
        SealedFrameHeader header = Header(frame);
        if (streams.Check(header) != StreamCheck.Acceptable)
        {
            return -2;
        }
        int length = streams.Open(header, frame);
        if (length >= 0)
        {
            streams.Accept(header);
        }
        return length;
    }

    private static SealedFrameHeader Header(byte[] frame)
    {
        Assert.True(SealedFrameHeader.TryRead(frame, out SealedFrameHeader header));
        return header;
    }

    private static byte[] Seal(ulong salt, ulong counter)
    {
        using var cipher = FrameCipher.ForStream(SenderKey, salt);
        var frame = new byte[PayloadLength + SealedFrameHeader.Overhead];
        Assert.Equal(frame.Length, cipher.Seal(new SealedFrameHeader(FrameType.Data, 7, 1, 9, salt, counter), frame, PayloadLength));
        return frame;
    }

    private static ulong Ns(DateTimeOffset at) => (ulong)((at - DateTimeOffset.UnixEpoch).Ticks * 100);

    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
