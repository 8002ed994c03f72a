using System.Text.Json.Serialization;

namespace OverlayKvm.Core.Api;

// Automatic co-location (issue 15): `overlayctl rebalance --dry-run | --apply`, `domain-pin`, `domain-unpin`.

/// <summary>Traffic between two member domains over the window, as the agents counted it (both directions).</summary>
/// <param name="Sealed">Bytes per second over the network (what co-location would move to the engine).</param>
/// <param name="Engine">Bytes per second through the acceleration engine (same host).</param>
/// <param name="CoLocatable">True when the two share a group whose engine is on: only then does one host put their traffic on the engine.</param>
public sealed record PeerPairTraffic(string A, string HostA, string B, string HostB, double Sealed, double Engine, bool CoLocatable);

/// <summary>One proposed live migration.</summary>
/// <param name="BytesPerSecond">Traffic with domains on <paramref name="To"/> that would move from sealed to the engine.</param>
/// <param name="LostBytesPerSecond">Traffic with domains left on <paramref name="From"/> that would move from the engine to sealed.</param>
public sealed record RebalanceProposal(string Domain, string From, string To, double BytesPerSecond, double LostBytesPerSecond, string Reason);

/// <param name="MovesLeftThisHour">How many more migrations the hourly bound (Rebalance:MaxMovesPerHour) allows now.</param>
/// <param name="WindowSeconds">The span of counter samples the rates come from.</param>
public sealed record RebalancePlanView(IReadOnlyList<RebalanceProposal> Proposals, IReadOnlyList<PeerPairTraffic> Pairs, int MovesLeftThisHour,
    double WindowSeconds, IReadOnlyList<string> Notes);

/// <param name="Error">Why the migration failed (the apply stops at the first failure); null when it moved.</param>
public sealed record RebalanceMoveResult(string Domain, string From, string To, double BytesPerSecond, bool Moved, double Seconds, string? Error);

public sealed record RebalanceApplyView(IReadOnlyList<RebalanceMoveResult> Moves, RebalancePlanView Plan);

public sealed record DomainPinView(string Domain, bool Pinned);

/// <summary>Source-generated JSON for the rebalance part of the admin API.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
[JsonSerializable(typeof(RebalancePlanView))]
[JsonSerializable(typeof(RebalanceApplyView))]
[JsonSerializable(typeof(DomainPinView))]
[JsonSerializable(typeof(List<string>))]
public sealed partial class RebalanceJsonContext : JsonSerializerContext;
