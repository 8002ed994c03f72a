namespace OverlayKvm.GuestAgent.Pipeline;

/// <summary>
/// Bytes exchanged with one other VM (by domain name), engine path and network path apart, both directions (issue 15,
/// automatic co-location: overlayd learns from them which members talk most across hosts). The compiled
/// <see cref="Config.PeerVm"/> holds a reference, so the datapath counts with two Interlocked adds and no lookup.
/// </summary>
internal sealed class PeerCounters
{
    public PeerCounters(string domain) => Domain = domain;

    public string Domain { get; }

    /// <summary>Through the acceleration engine's rings (same host).</summary>
    public PathCounters Engine { get; } = new();

    /// <summary>Over the network: sealed, authenticated or clear frames (the path co-location would save).</summary>
    public PathCounters Sealed { get; } = new();
}
