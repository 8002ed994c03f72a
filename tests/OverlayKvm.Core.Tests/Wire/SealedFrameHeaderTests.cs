using OverlayKvm.Core.Model;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.Core.Tests.Wire;

public class SealedFrameHeaderTests
{
    // version 2, type 1, reserved 0, group 0x0A0B0C0D, epoch 7, sender 0x01020304, salt 0xA1A2A3A4A5A6A7A8,
    // counter 0x1122334455667788, + 16-byte "tag".
    private static readonly byte[] ValidFrame =
    [
        0x02, 0x01, 0x00, 0x00,
        0x0A, 0x0B, 0x0C, 0x0D,
        0x00, 0x00, 0x00, 0x07,
        0x01, 0x02, 0x03, 0x04,
        0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8,
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    [Fact]
    public void Size_IsThirtyTwoBytes_AndOverheadAddsTheTag()
    {
        Assert.Equal(32, SealedFrameHeader.Size);
        Assert.Equal(16, SealedFrameHeader.TagSize);
        Assert.Equal(48, SealedFrameHeader.Overhead);
    }

    [Fact]
    public void TryRead_ValidFrame_ReadsEveryFieldBigEndian()
    {
        Assert.True(SealedFrameHeader.TryRead(ValidFrame, out var h));
        Assert.Equal(FrameType.Data, h.Type);
        Assert.Equal(0x0A0B0C0Du, h.GroupId);
        Assert.Equal(7u, h.Epoch);
        Assert.Equal(0x01020304u, h.SenderIndex);
        Assert.Equal(0xA1A2A3A4A5A6A7A8UL, h.Salt);
        Assert.Equal(0x1122334455667788UL, h.Counter);
    }

    [Fact]
    public void TryWrite_ThenTryRead_RoundTrips()
    {
        var h = new SealedFrameHeader(FrameType.Data, 0xFFFFFFFF, 0, 42, 0x0102030405060708, ulong.MaxValue);
        var frame = new byte[SealedFrameHeader.Overhead];
        Assert.True(h.TryWrite(frame));
        Assert.Equal(ValidFrame.AsSpan(0, 4).ToArray(), frame.AsSpan(0, 4).ToArray());
        Assert.True(SealedFrameHeader.TryRead(frame, out var back));
        Assert.Equal(h.GroupId, back.GroupId);
        Assert.Equal(h.Epoch, back.Epoch);
        Assert.Equal(h.SenderIndex, back.SenderIndex);
        Assert.Equal(h.Salt, back.Salt);
        Assert.Equal(h.Counter, back.Counter);
    }

    [Fact]
    public void Cipher_IsByteTwo_AndRoundTrips()
    {
        var h = new SealedFrameHeader(FrameType.Data, 1, 1, 1, 1, 1, GroupCipher.Aegis256);
        var frame = new byte[SealedFrameHeader.OverheadOf(GroupCipher.Aegis256)];
        Assert.True(h.TryWrite(frame));
        Assert.Equal(1, frame[2]);
        Assert.Equal(0, frame[3]);
        Assert.True(SealedFrameHeader.TryRead(frame, out var back));
        Assert.Equal(GroupCipher.Aegis256, back.Cipher);
        Assert.True(SealedFrameHeader.TryRead(ValidFrame, out var chacha));
        Assert.Equal(GroupCipher.ChaCha20Poly1305, chacha.Cipher);
        Assert.Equal(48, SealedFrameHeader.OverheadOf(GroupCipher.ChaCha20Poly1305));
        Assert.Equal(64, SealedFrameHeader.OverheadOf(GroupCipher.Aegis256));
    }

    [Fact]
    public void TryWrite_DestinationTooSmall_ReturnsFalse()
    {
        var h = new SealedFrameHeader(FrameType.Data, 1, 1, 1, 1, 1);
        Assert.False(h.TryWrite(new byte[SealedFrameHeader.Size - 1]));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x01 })]
    [InlineData(new byte[] { 0x02, 0x01, 0x00, 0x00, 0x0A, 0x0B, 0x0C, 0x0D, 0, 0, 0, 7, 1, 2, 3, 4, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 })]
    [InlineData(new byte[] { 0x02, 0x01, 0x00, 0x00, 0x0A, 0x0B, 0x0C, 0x0D, 0, 0, 0, 7, 1, 2, 3, 4, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    public void TryRead_Truncated_ReturnsFalse(byte[] frame)
    {
        Assert.False(SealedFrameHeader.TryRead(frame, out _));
    }

    [Theory]
    [InlineData(0, (byte)0x00)] // version 0
    [InlineData(0, (byte)0x01)] // version 1: the header without a stream salt
    [InlineData(0, (byte)0xFF)]
    [InlineData(1, (byte)0x00)] // type 0
    [InlineData(1, (byte)0x02)] // unknown type
    [InlineData(2, (byte)0x80)] // unknown cipher
    [InlineData(2, (byte)0x02)] // the first cipher byte after AEGIS-256: unknown to this build
    [InlineData(3, (byte)0x01)]
    public void TryRead_BadVersionTypeOrReserved_ReturnsFalse(int offset, byte value)
    {
        var frame = (byte[])ValidFrame.Clone();
        frame[offset] = value;
        Assert.False(SealedFrameHeader.TryRead(frame, out _));
    }

    [Fact]
    public void TryRead_Oversized_ReadsHeaderOnly()
    {
        var frame = new byte[65535];
        ValidFrame.CopyTo(frame, 0);
        Assert.True(SealedFrameHeader.TryRead(frame, out var h));
        Assert.Equal(7u, h.Epoch);
    }
}
