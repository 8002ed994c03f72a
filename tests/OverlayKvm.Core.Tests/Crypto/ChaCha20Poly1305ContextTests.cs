using System.Security.Cryptography;
using OverlayKvm.Core.Crypto;

namespace OverlayKvm.Core.Tests.Crypto;

/// <summary>Our OpenSSL binding against the BCL's ChaCha20Poly1305 and the RFC 8439 §2.8.2 test vector.</summary>
public class ChaCha20Poly1305ContextTests
{
    [Fact]
    public void Seal_Rfc8439Vector_MatchesCiphertextAndTag()
    {
        byte[] key = Convert.FromHexString("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
        byte[] nonce = Convert.FromHexString("070000004041424344454647");
        byte[] aad = Convert.FromHexString("50515253c0c1c2c3c4c5c6c7");
        byte[] data = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."u8.ToArray();
        var tag = new byte[16];
        using var ctx = new ChaCha20Poly1305Context(key, encrypt: true);
        Assert.True(ctx.Seal(nonce, aad, data, tag));
        Assert.StartsWith("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116", Convert.ToHexString(data).ToLowerInvariant());
        Assert.Equal("1ae10b594f09e26a7e902ecbd0600691", Convert.ToHexString(tag).ToLowerInvariant());
    }

    [Fact]
    public void SealAndOpen_InteroperateWithTheBcl_OverManyMessagesOnOneContext()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        using var seal = new ChaCha20Poly1305Context(key, encrypt: true);
        using var open = new ChaCha20Poly1305Context(key, encrypt: false);
        using var bcl = new ChaCha20Poly1305(key);
        var rng = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            byte[] nonce = RandomNumberGenerator.GetBytes(12);
            byte[] aad = RandomNumberGenerator.GetBytes(rng.Next(0, 40));
            byte[] plain = RandomNumberGenerator.GetBytes(rng.Next(0, 1500));

            byte[] ours = (byte[])plain.Clone();
            var tag = new byte[16];
            Assert.True(seal.Seal(nonce, aad, ours, tag));
            var back = new byte[plain.Length];
            bcl.Decrypt(nonce, ours, tag, back, aad);
            Assert.Equal(plain, back);

            var theirs = new byte[plain.Length];
            var theirTag = new byte[16];
            bcl.Encrypt(nonce, plain, theirs, theirTag, aad);
            Assert.True(open.Open(nonce, aad, theirs, theirTag));
            Assert.Equal(plain, theirs);
        }
    }

    [Fact]
    public void Open_BadTagOrAad_ReturnsFalse_ThenGoodMessageStillOpens()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        using var seal = new ChaCha20Poly1305Context(key, encrypt: true);
        using var open = new ChaCha20Poly1305Context(key, encrypt: false);
        byte[] nonce = new byte[12];
        byte[] aad = [1, 2, 3];
        byte[] data = RandomNumberGenerator.GetBytes(100);
        byte[] plain = (byte[])data.Clone();
        var tag = new byte[16];
        Assert.True(seal.Seal(nonce, aad, data, tag));

        byte[] badTag = (byte[])tag.Clone();
        badTag[0] ^= 1;
        Assert.False(open.Open(nonce, aad, (byte[])data.Clone(), badTag));
        Assert.False(open.Open(nonce, [1, 2, 4], (byte[])data.Clone(), tag));
        Assert.False(open.Open([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], aad, (byte[])data.Clone(), tag));
        // A failed open leaves the context usable…
        Assert.True(open.Open(nonce, aad, data, tag));
        Assert.Equal(plain, data);
        // …and no OpenSSL error behind for the BCL on this thread.
        using var bcl = new ChaCha20Poly1305(key);
        var c = new byte[10];
        var t2 = new byte[16];
        bcl.Encrypt(nonce, new byte[10], c, t2);
        bcl.Decrypt(nonce, c, t2, new byte[10]);
    }

    [Fact]
    public void WrongDirection_ReturnsFalse()
    {
        byte[] key = new byte[32];
        using var seal = new ChaCha20Poly1305Context(key, encrypt: true);
        Assert.False(seal.Open(new byte[12], [], new byte[4], new byte[16]));
        Assert.Throws<ArgumentException>(() => new ChaCha20Poly1305Context(new byte[16], encrypt: true));
    }
}
