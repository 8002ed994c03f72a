using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.Core.Tests.SharedMemory;

/// <summary>
/// A fresh region with slot 0's endpoint on its first mapping and slot 1's on a second, independent mapping of the
/// same file: the two processes of a cross-VM path, in one test. Everything is released on dispose.
/// </summary>
internal sealed class TwoMappedEndpoints : IDisposable
{
    public TwoMappedEndpoints()
    {
        Temp = new TempRegion();
        Other = Temp.AttachAgain();
        Sender = new EngineEndpoint(Temp.Region, 0);
        Receiver = new EngineEndpoint(Other, 1);
    }

    public TempRegion Temp { get; }

    /// <summary>The second mapping (the receiver's process).</summary>
    public EngineRegion Other { get; }

    /// <summary>Slot 0, on the first mapping.</summary>
    public EngineEndpoint Sender { get; }

    /// <summary>Slot 1, on the second mapping.</summary>
    public EngineEndpoint Receiver { get; }

    public void Dispose()
    {
        Receiver.Dispose();
        Sender.Dispose();
        Other.Dispose();
        Temp.Dispose();
    }
}
