using OverlayKvm.Core.Cluster;

namespace OverlayKvm.TestSupport;

/// <summary>Host liveness as a test fixes it: the named hosts are alive, every other is not; it never changes.</summary>
public sealed class FixedHostLiveness(params string[] alive) : IHostLiveness
{
    public bool IsAlive(string host) => Array.IndexOf(alive, host) >= 0;

    public event Action? Changed { add { } remove { } }
}
