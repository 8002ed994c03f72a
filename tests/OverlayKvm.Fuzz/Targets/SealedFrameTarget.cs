using OverlayKvm.Core.Wire;
using OverlayKvm.Fuzz.Fixtures;

namespace OverlayKvm.Fuzz.Targets;

/// <summary>
/// A datagram arriving on vmB's overlay port from vmA's underlay address, through the production receive path
/// (<c>ReceivePath.Process</c>: header, sender, key, replay window, AEAD, inner packet, anti-spoofing, ingress policy).
/// Random bytes almost never pass the tag, so the first input byte picks how the rest is used:
/// <code>
/// byte0 % 4 == 0: the rest is the raw datagram (header parsing, forgeries, replays, truncation)
///            1: the rest is sealed by vmA as a Data frame of group web, then received (inner IPv4 parsing, routing, policy)
///            2: the rest is sealed by vmA as a Control frame of group web (negotiation messages behind a valid tag)
///            3: the rest is sealed by vmA as an AuthenticatedData frame of group ops
/// </code>
/// Sealing goes through vmA's real send side, so a change of header or key schedule reaches this target unchanged.
/// Nothing is a rejection: the receive path refuses with a drop reason, never an exception.
/// </summary>
internal sealed class SealedFrameTarget : FuzzTarget
{
    private readonly AgentPair _pair = new();
    private readonly byte[] _frame = new byte[70_000];

    public override string Name => "sealed-frame";

    protected override void Execute(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }
        ReadOnlySpan<byte> rest = input.Slice(1);
        ReadOnlySpan<byte> datagram = (input[0] & 3) switch
        {
            0 => rest,
            1 => _pair.SealFromA("web", FrameType.Data, rest),
            2 => _pair.SealFromA("web", FrameType.Control, rest),
            _ => _pair.SealFromA("ops", FrameType.AuthenticatedData, rest),
        };
        if (datagram.Length > _frame.Length)
        {
            return;
        }
        datagram.CopyTo(_frame);
        _pair.ReceiveB.Process(_frame.AsSpan(0, datagram.Length), AgentPair.VmAUnderlay);
    }
}
