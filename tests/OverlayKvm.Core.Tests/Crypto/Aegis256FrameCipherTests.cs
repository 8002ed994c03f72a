using System.Security.Cryptography;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.Core.Tests.Crypto;

/// <summary>AEGIS-256 as a group cipher (issue 16): the draft's known answers, then frames sealed and opened with it.</summary>
public class Aegis256FrameCipherTests
{
    private static readonly byte[] GroupKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private const ulong Salt = 0x5A175A175A175A17;

    public Aegis256FrameCipherTests()
    {
        Assert.True(GroupCiphers.HostSupports(GroupCipher.Aegis256), "prerequisite missing: this CPU has no AES-NI (/proc/cpuinfo flag 'aes'), which AEGIS-256 groups need");
    }

    // draft-irtf-cfrg-aegis-aead, appendix A.3 (AEGIS-256), test vectors 1 and 3, 256-bit tags.
    [Theory]
    [InlineData("", "00000000000000000000000000000000", "754fc3d8c973246dcc6d741412a4b236",
        "1181a1d18091082bf0266f66297d167d2e68b845f61a3b0527d31fc7b7b89f13")]
    [InlineData("0001020304050607", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "f373079ed84b2709faee373584585d60accd191db310ef5d8b11833df9dec711",
        "b7d28d0c3c0ebd409fd22b44160503073a547412da0854bfb9723020dab8da1a")]
    public void Aegis256Context_DraftVectors_SealInPlace_AndOpen(string ad, string message, string ciphertext, string tag)
    {
        byte[] key = Convert.FromHexString("1001000000000000000000000000000000000000000000000000000000000000");
        byte[] nonce = Convert.FromHexString("1000020000000000000000000000000000000000000000000000000000000000");
        byte[] plaintext = Convert.FromHexString(message);
        var buffer = new byte[plaintext.Length + Aegis256Context.TagSize];
        plaintext.CopyTo(buffer, 0);
        using var aegis = new Aegis256Context(key);

        Assert.True(aegis.Seal(nonce, Convert.FromHexString(ad), buffer, plaintext.Length));
        Assert.Equal(ciphertext + tag, Convert.ToHexStringLower(buffer));
        Assert.True(aegis.Open(nonce, Convert.FromHexString(ad), buffer, plaintext.Length));
        Assert.Equal(plaintext, buffer.AsSpan(0, plaintext.Length).ToArray());
    }

    private static (byte[] Frame, int Length) Seal(FrameCipher cipher, byte[] plaintext, FrameType type = FrameType.Data)
    {
        var frame = new byte[plaintext.Length + SealedFrameHeader.Size + SealedFrameHeader.MaxTagSize];
        plaintext.CopyTo(frame, SealedFrameHeader.Size);
        // The header asks for the default cipher: Seal writes the cipher that actually sealed.
        int n = cipher.Seal(new SealedFrameHeader(type, 77, 1, 9, Salt, 5), frame, plaintext.Length);
        return (frame, n);
    }

    [Theory]
    [InlineData((byte)FrameType.Data)]
    [InlineData((byte)FrameType.AuthenticatedData)]
    public void SealThenOpen_Aegis_Overhead64_CipherByteOne_RestoresPlaintext(byte typeByte)
    {
        var type = (FrameType)typeByte;
        using var tx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt, GroupCipher.Aegis256);
        using var rx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt, GroupCipher.Aegis256);
        byte[] plaintext = "PLAINTEXT-MARKER-0123456789"u8.ToArray();
        var (frame, n) = Seal(tx, plaintext, type);

        Assert.Equal(64, tx.Overhead);
        Assert.Equal(plaintext.Length + 64, n);
        int marker = frame.AsSpan(SealedFrameHeader.Size, plaintext.Length).IndexOf("MARKER"u8);
        Assert.True(type == FrameType.Data ? marker == -1 : marker >= 0, $"marker at {marker} for {type}");
        Assert.True(SealedFrameHeader.TryRead(frame.AsSpan(0, n), out var h));
        Assert.Equal(GroupCipher.Aegis256, h.Cipher);
        Assert.Equal(plaintext.Length, rx.Open(h, frame.AsSpan(0, n)));
        Assert.Equal(plaintext, frame.AsSpan(SealedFrameHeader.Size, plaintext.Length).ToArray());
    }

    [Theory]
    [InlineData(4)]      // header (associated data): the group id, so the header still parses
    [InlineData(40)]     // ciphertext
    [InlineData(-1)]     // last byte of the 32-byte tag
    [InlineData(-17)]    // first half of the tag: all 32 bytes are checked, not only 16
    public void Open_Aegis_AnyByteTampered_Fails(int offset)
    {
        using var tx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt, GroupCipher.Aegis256);
        using var rx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt, GroupCipher.Aegis256);
        var (frame, n) = Seal(tx, RandomNumberGenerator.GetBytes(100));
        int at = offset >= 0 ? offset : n + offset;
        frame[at] ^= 0x01;
        Assert.True(SealedFrameHeader.TryRead(frame.AsSpan(0, n), out var h));
        Assert.Equal(-1, rx.Open(h, frame.AsSpan(0, n)));
    }

    [Theory]
    [InlineData(GroupCipher.ChaCha20Poly1305, GroupCipher.Aegis256)]
    [InlineData(GroupCipher.Aegis256, GroupCipher.ChaCha20Poly1305)]
    public void Open_FrameOfTheOtherCipher_Fails_EvenRelabelled(GroupCipher sealedWith, GroupCipher openedWith)
    {
        using var tx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt, sealedWith);
        using var rx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt, openedWith);
        var (frame, n) = Seal(tx, RandomNumberGenerator.GetBytes(100));
        Assert.True(SealedFrameHeader.TryRead(frame.AsSpan(0, n), out var h));
        Assert.Equal(sealedWith, h.Cipher);
        Assert.Equal(-1, rx.Open(h, frame.AsSpan(0, n)));

        // Relabelled as the receiver's cipher: the byte is associated data, so the tag fails.
        frame[2] = (byte)openedWith;
        Assert.True(SealedFrameHeader.TryRead(frame.AsSpan(0, n), out var relabelled));
        Assert.Equal(-1, rx.Open(relabelled, frame.AsSpan(0, n)));
    }

    [Fact]
    public void SealAndOpen_Aegis_AllocateNothing()
    {
        using var tx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt, GroupCipher.Aegis256);
        using var rx = FrameCipher.ForSender(GroupKey, 77, 1, 9, Salt, GroupCipher.Aegis256);
        var frame = new byte[1400 + 64];
        var header = new SealedFrameHeader(FrameType.Data, 77, 1, 9, Salt, 5);
        int n = tx.Seal(header, frame, 1400);
        Assert.True(SealedFrameHeader.TryRead(frame, out var h));
        Assert.Equal(1400, rx.Open(h, frame)); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (ulong i = 0; i < 100; i++)
        {
            var next = new SealedFrameHeader(FrameType.Data, 77, 1, 9, Salt, 10 + i);
            n = tx.Seal(next, frame, 1400);
            SealedFrameHeader.TryRead(frame, out h);
            rx.Open(h, frame);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1464, n);
    }
}
