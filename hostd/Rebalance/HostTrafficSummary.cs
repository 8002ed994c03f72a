using System.Text.Json.Serialization;

namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>
/// What one host's agents counted with each peer over the window (bytes per second, both directions together), as
/// that host publishes it for the others (<see cref="ITrafficSummaryExchange"/>).
/// </summary>
/// <param name="Domain">A domain of <paramref name="Peer"/>'s counterpart host: the agent that counted.</param>
internal sealed record DomainPeerRate(string Domain, string Peer, double Sealed, double Engine);

/// <param name="At">When the newest sample was taken: a summary much older than the window is ignored.</param>
internal sealed record HostTrafficSummary(string Host, DateTimeOffset At, double WindowSeconds, IReadOnlyList<DomainPeerRate> Rates)
{
    /// <summary>A host publishes at most this many rates (its agents' peers); a longer summary is refused when read.</summary>
    public const int MaxRates = 16384;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true, MaxDepth = 8)]
[JsonSerializable(typeof(HostTrafficSummary))]
internal sealed partial class TrafficJsonContext : JsonSerializerContext;
