using System.Net;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.GuestAgent.Tests.Doubles;

/// <summary>An <see cref="IFrameSender"/> that keeps every frame in order, so a test can carry them to the other agent.</summary>
internal sealed class FrameQueue : IFrameSender
{
    private readonly Queue<byte[]> _frames = new();

    public int Sent { get; private set; }

    public int Pending => _frames.Count;

    public bool TrySend(ReadOnlySpan<byte> frame, SocketAddress destination)
    {
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
