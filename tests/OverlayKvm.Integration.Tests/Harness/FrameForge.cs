using System.Buffers.Binary;
using System.Net;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Wire;
using OverlayKvm.TestSupport.Packets;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// Builds frames the way a (possibly malicious) group member holding the group key would: for spoofing and
/// key-epoch tests. Uses the product's own sealing code, so a frame forged here is exactly as valid as a real one.
/// </summary>
internal static class FrameForge
{
    /// <summary>The stream salt forged frames use (a stream of their own, as a restarted sender's would be).</summary>
    public const ulong ForgerSalt = 0x0F0F0F0F0F0F0F0F;

    /// <summary>A counter above anything a real sender has used yet (real counters start at the wall clock in ns).</summary>
    public static ulong FreshCounter() => (ulong)((DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100) + 1_000_000_000UL;

    public static byte[] Seal(byte[] groupKey, string group, int epoch, string senderDomain, ulong counter, byte[] innerPacket, ulong salt = ForgerSalt)
    {
        uint groupId = OverlayIds.GroupId(group);
        uint sender = OverlayIds.SenderIndex(senderDomain);
        using var cipher = FrameCipher.ForSender(groupKey, groupId, (uint)epoch, sender, salt);
        var frame = new byte[innerPacket.Length + SealedFrameHeader.Overhead];
        innerPacket.CopyTo(frame, SealedFrameHeader.Size);
        int n = cipher.Seal(new SealedFrameHeader(FrameType.Data, groupId, (uint)epoch, sender, salt, counter), frame, innerPacket.Length);
        Assert.Equal(frame.Length, n);
        return frame;
    }

    /// <summary>A clear frame (type 5, trusted segment) claiming <paramref name="senderDomain"/> as sender: no key needed to build it.</summary>
    public static byte[] Clear(string group, string senderDomain, byte[] innerPacket)
    {
        var frame = new byte[SealedFrameHeader.Size + innerPacket.Length];
        Assert.True(new SealedFrameHeader(FrameType.ClearData, OverlayIds.GroupId(group), 0, OverlayIds.SenderIndex(senderDomain), 0, 0).TryWrite(frame));
        innerPacket.CopyTo(frame, SealedFrameHeader.Size);
        return frame;
    }

    /// <summary>A minimal IPv4/UDP packet (valid header checksum, UDP checksum 0) with an 8-byte payload.</summary>
    public static byte[] UdpPacket(string source, string destination, int port = 9)
    {
        var p = new byte[20 + 8 + 8];
        TestPackets.WriteIpv4(p, p.Length, TestPackets.Udp, source, destination);
        TestPackets.WriteHeaderChecksum(p);
        TestPackets.WritePorts(p, 40000, (ushort)port);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(24), 16);
        return p;
    }
}
