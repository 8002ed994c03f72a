using System.Security.Cryptography;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.Core.Tests.Crypto;

public class FrameCipherTests
{
    private static readonly byte[] GroupKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private const ulong Salt = 0x5A175A175A175A17;

    private static (byte[] Frame, int Length) SealSample(FrameCipher cipher, byte[] plaintext, ulong counter = 5, uint sender = 9, FrameType type = FrameType.Data)
    {
        var frame = new byte[plaintext.Length + SealedFrameHeader.Overhead];
        plaintext.CopyTo(frame, SealedFrameHeader.Size);
        var header = new SealedFrameHeader(type, 77, 1, sender, Salt, counter);
        int n = cipher.Seal(header, frame, plaintext.Length);
        return (frame, n);
    }

    [Fact]
    public void SealThenOpen_RestoresPlaintext_AndCiphertextDiffers()
    {
        using var tx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt);
        using var rx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt);
        byte[] plaintext = "PLAINTEXT-MARKER-0123456789"u8.ToArray();
        var (frame, n) = SealSample(tx, plaintext);
        Assert.Equal(plaintext.Length + SealedFrameHeader.Overhead, n);
        Assert.Equal(-1, frame.AsSpan(SealedFrameHeader.Size, plaintext.Length).IndexOf("MARKER"u8));

        Assert.True(SealedFrameHeader.TryRead(frame, out var h));
        Assert.Equal(plaintext.Length, rx.Open(h, frame));
        Assert.Equal(plaintext, frame.AsSpan(SealedFrameHeader.Size, plaintext.Length).ToArray());
    }

    [Fact]
    public void AuthenticatedData_PacketStaysInClear_AndOpens()
    {
        using var tx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt);
        using var rx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt);
        byte[] plaintext = "PLAINTEXT-MARKER-0123456789"u8.ToArray();
        var (frame, n) = SealSample(tx, plaintext, type: FrameType.AuthenticatedData);

        Assert.Equal(frame.Length, n);
        Assert.Equal(plaintext, frame.AsSpan(SealedFrameHeader.Size, plaintext.Length).ToArray());
        Assert.True(SealedFrameHeader.TryRead(frame, out var h));
        Assert.Equal(FrameType.AuthenticatedData, h.Type);
        Assert.Equal(plaintext.Length, rx.Open(h, frame));
    }

    [Theory]
    [InlineData(1, 4)] // data relabelled "authenticated" (a downgrade that would expose ciphertext as if clear)
    [InlineData(4, 1)]
    public void Relabelled_SealedAsOneTypeOpenedAsTheOther_Fails(byte sealedAs, byte relabelledAs)
    {
        using var tx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt);
        using var rx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt);
        var (frame, _) = SealSample(tx, RandomNumberGenerator.GetBytes(64), type: (FrameType)sealedAs);
        frame[1] = relabelledAs;

        Assert.True(SealedFrameHeader.TryRead(frame, out var h));
        Assert.Equal(-1, rx.Open(h, frame));
    }

    [Theory]
    [InlineData(1)] // data (sealed)
    [InlineData(4)] // authenticated only
    public void Open_EveryFlippedByte_FailsAuthentication(byte type)
    {
        using var tx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt);
        using var rx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt);
        byte[] plaintext = RandomNumberGenerator.GetBytes(64);
        var (sealedFrame, _) = SealSample(tx, plaintext, type: (FrameType)type);
        for (int i = 0; i < sealedFrame.Length; i++)
        {
            var frame = (byte[])sealedFrame.Clone();
            frame[i] ^= 0x01;
            // A flip in the header either breaks the parse or changes the associated data / nonce.
            if (SealedFrameHeader.TryRead(frame, out var h))
            {
                Assert.Equal(-1, rx.Open(h, frame));
            }
        }
    }

    /// <summary>Sealed by sender 9 in epoch 1: the key of another sender, or of another epoch, does not open it.</summary>
    [Theory]
    [InlineData(1u, 10u)]
    [InlineData(2u, 9u)]
    public void Open_KeyOfAnotherSenderOrEpoch_Fails(uint epoch, uint sender)
    {
        using var tx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt);
        using var other = FrameCipher.ForSender(GroupKey, 77, epoch, sender, Salt);
        var (frame, _) = SealSample(tx, new byte[32]);
        Assert.True(SealedFrameHeader.TryRead(frame, out var h));
        Assert.Equal(-1, other.Open(h, frame));
    }

    [Fact]
    public void Open_FrameShorterThanOverhead_ReturnsMinusOne()
    {
        using var rx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt);
        var h = new SealedFrameHeader(FrameType.Data, 77, 1, 9, Salt, 1);
        Assert.Equal(-1, rx.Open(h, new byte[SealedFrameHeader.Overhead - 1]));
    }

    [Fact]
    public void Seal_FrameTooSmall_ReturnsMinusOne()
    {
        using var tx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt);
        var h = new SealedFrameHeader(FrameType.Data, 77, 1, 9, Salt, 1);
        Assert.Equal(-1, tx.Seal(h, new byte[SealedFrameHeader.Overhead + 9], 10));
    }

    [Fact]
    public void DeriveSenderKey_DiffersPerSenderEpochAndGroup()
    {
        var keys = new HashSet<string>();
        foreach (var (g, e, s) in new[] { (1u, 1u, 1u), (2u, 1u, 1u), (1u, 2u, 1u), (1u, 1u, 2u) })
        {
            var k = new byte[32];
            FrameKeySchedule.DeriveSenderKey(GroupKey, g, e, s, k);
            Assert.True(keys.Add(Convert.ToHexString(k)), $"key for group {g} epoch {e} sender {s} repeats another");
        }
    }

    [Fact]
    public void DeriveSenderKey_WrongGroupKeySize_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => FrameKeySchedule.DeriveSenderKey(new byte[16], 1, 3, 1, new byte[32]));
        Assert.Contains("epoch 3", ex.Message);
    }

    [Fact]
    public void FrameCounter_StartsAtWallClockNanoseconds_AndIncreases()
    {
        var before = (ulong)((DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100);
        var counter = new FrameCounter(TimeProvider.System);
        ulong a = counter.Next();
        ulong b = counter.Next();
        Assert.True(a > before, $"first counter {a} should be above the wall clock in ns before creation {before}");
        Assert.True(b > a);
    }

    // Issue 14 item 5: the counter follows the sender's clock, so a receiver with no state can bound a frame's age.
    [Fact]
    public void FrameCounter_FollowsTheClock_NotJustTheFrameCount()
    {
        var counter = new FrameCounter(TimeProvider.System);
        ulong first = counter.Next();
        Thread.Sleep(20);
        ulong later = counter.Next();
        Assert.True(later - first >= 20_000_000, $"20 ms later the counter moved only {later - first} ns");
        ulong now = (ulong)((DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100);
        Assert.True(now - later < 1_000_000_000, $"counter {later} is {now - later} ns behind the clock");
    }
}
