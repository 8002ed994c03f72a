using System.Buffers.Binary;

namespace OverlayKvm.GuestAgent.Policy;

/// <summary>The messages of seed 004's negotiation (R4.7–R4.11, R4.14).</summary>
internal enum NegotiationKind : byte
{
    /// <summary>Sender → destination's agent: may Source send Protocol/Port to Destination?</summary>
    IsAllowed = 1,
    Allowed = 2,
    NotAllowed = 3,
    /// <summary>Destination's agent → sender: data of this flow was refused; drop your rule for it (Port 0 and Protocol 0: every rule to Destination).</summary>
    NotPermitted = 4,
}

/// <summary>
/// One negotiation message, the plaintext of a <c>FrameType.Control</c> sealed frame (so it is authenticated as
/// the sending VM and replay-checked like data). Fixed 20 bytes, big-endian:
/// <code>
/// 0: kind | 1: IP protocol | 2-3: destination port | 4-7: source address | 8-11: destination address | 12-19: request id
/// </code>
/// Source and destination always name the flow in its data direction (the original sender's app first), in
/// every kind. The sender's groups are not carried: the receiver takes them from its own directory, which it
/// trusts, rather than from the claim (R4.8 step 1 allows either).
/// </summary>
internal readonly record struct NegotiationMessage(NegotiationKind Kind, FlowKey Flow, ulong RequestId)
{
    public const int Size = 20;

    public void Write(Span<byte> destination)
    {
        destination[0] = (byte)Kind;
        destination[1] = Flow.Protocol;
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(2), Flow.Port);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(4), Flow.Source);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(8), Flow.Destination);
        BinaryPrimitives.WriteUInt64BigEndian(destination.Slice(12), RequestId);
    }

    /// <summary>Parses exactly <see cref="Size"/> bytes with a known kind; anything else is malformed.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out NegotiationMessage message)
    {
        message = default;
        if (source.Length != Size || source[0] is < (byte)NegotiationKind.IsAllowed or > (byte)NegotiationKind.NotPermitted)
        {
            return false;
        }
        var flow = new FlowKey(
            BinaryPrimitives.ReadUInt32BigEndian(source.Slice(4)),
            BinaryPrimitives.ReadUInt32BigEndian(source.Slice(8)),
            source[1],
            BinaryPrimitives.ReadUInt16BigEndian(source.Slice(2)));
        message = new NegotiationMessage((NegotiationKind)source[0], flow, BinaryPrimitives.ReadUInt64BigEndian(source.Slice(12)));
        return true;
    }
}
