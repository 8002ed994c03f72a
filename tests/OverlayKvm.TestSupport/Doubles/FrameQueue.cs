using System.Net;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.TestSupport.Doubles;

/// <summary>
/// An <see cref="IFrameSender"/> that keeps frames in order, so a test can carry them to the other agent.
/// Given <c>onlyType</c> (a frame type byte, e.g. control) it keeps only frames of that type and drops the others
/// unseen, so a timed send loop (bench PolicyCost) neither allocates nor takes the lock per data packet.
/// </summary>
internal sealed class FrameQueue(int onlyType = -1) : IFrameSender
{
    private readonly Queue<byte[]> _frames = new();

    public int Sent { get; private set; }

    public int Pending
    {
        get
        {
            lock (_frames)
            {
                return _frames.Count;
            }
        }
    }

    public bool TrySend(ReadOnlySpan<byte> frame, SocketAddress destination)
    {
        if (onlyType >= 0 && (frame.Length < 2 || frame[1] != onlyType))
        {
            return true;
        }
        lock (_frames)
        {
            _frames.Enqueue(frame.ToArray());
            Sent++;
        }
        return true;
    }

    public bool TryTake(out byte[] frame)
    {
        lock (_frames)
        {
            return _frames.TryDequeue(out frame!);
        }
    }

    public void Clear()
    {
        lock (_frames)
        {
            _frames.Clear();
        }
    }
}
