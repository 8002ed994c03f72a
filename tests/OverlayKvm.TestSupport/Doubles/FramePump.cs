using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.TestSupport.Doubles;

/// <summary>
/// Carries queued frames between two in-process agents until both are quiet: a negotiation is a ping-pong
/// (Is Allowed → Allowed → held packet released), so one pass each way is not enough.
/// </summary>
internal static class FramePump
{
    /// <summary>Returns how many frames moved.</summary>
    public static int Run(FrameQueue fromA, ReceivePath receiveB, uint underlayA, FrameQueue fromB, ReceivePath receiveA, uint underlayB)
    {
        int moved = 0;
        bool any = true;
        while (any)
        {
            any = false;
            while (fromA.TryTake(out var frame))
            {
                receiveB.Process(frame, underlayA);
                moved++;
                any = true;
            }
            while (fromB.TryTake(out var frame))
            {
                receiveA.Process(frame, underlayB);
                moved++;
                any = true;
            }
        }
        return moved;
    }
}
