using OverlayKvm.Fuzz.Fixtures;
using OverlayKvm.GuestAgent.Policy;

namespace OverlayKvm.Fuzz.Targets;

/// <summary>
/// Negotiation messages (seed 004) that vmA's agent sends vmB's, as the plaintext of authentic control frames:
/// the input is cut into 20-byte messages (a shorter tail is sent too, as a malformed message) and each goes to
/// vmB's <c>TransmissionManager.OnControl</c> in group web or ops (low bit of the message's last byte), in order,
/// so sequences (ask, answer, notice) reach the manager's state. Nothing is a rejection: bad messages are counted.
/// </summary>
internal sealed class NegotiationTarget : FuzzTarget
{
    private readonly AgentPair _pair = new();

    public override string Name => "negotiation";

    protected override void Execute(ReadOnlySpan<byte> input)
    {
        while (!input.IsEmpty)
        {
            int take = Math.Min(input.Length, NegotiationMessage.Size);
            ReadOnlySpan<byte> message = input.Slice(0, take);
            var (snapshot, group, peerA) = _pair.ReceiverView((message[^1] & 1) == 0 ? "web" : "ops");
            _pair.TransmissionB.OnControl(snapshot, group, peerA, message);
            input = input.Slice(take);
        }
    }
}
