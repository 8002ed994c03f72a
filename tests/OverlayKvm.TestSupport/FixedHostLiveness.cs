using OverlayKvm.Core.Cluster;

namespace OverlayKvm.TestSupport;

/// <summary>Host liveness fixed by the test: exactly the hosts named are alive, and it never changes.</summary>
public sealed class FixedHostLiveness(params string[] alive) : IHostLiveness
{
    public bool IsAlive(string host) => alive.Contains(host);

    public event Action? Changed { add { } remove { } }
}
