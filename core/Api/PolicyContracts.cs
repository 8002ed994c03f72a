using System.Text.Json.Serialization;

namespace OverlayKvm.Core.Api;

// Admin API bodies for policies, group nesting and route explanations (overlayd <-> overlayctl). Text forms
// are those of Policy.PolicyText; the daemon parses them and answers a malformed one with 400 naming the field.

/// <param name="From">Sender terms: "G2", "G2/app", "10.2.0.0/16", "any", "not:G1" …</param>
/// <param name="Protocol">tcp, udp, icmp or any (default any).</param>
/// <param name="Ports">"80" or "8000-8080"; only with tcp or udp; null = every port.</param>
/// <param name="Verdict">allow (default) or deny.</param>
public sealed record PolicyAddRequest(string Destination, IReadOnlyList<string>? From, string? Protocol, string? Ports, string? Verdict);

public sealed record PolicyView(long Id, string Destination, IReadOnlyList<string> From, string Protocol, string? Ports, string Verdict, long Version, string Description);

/// <param name="Parent">The group to nest under; null to un-nest.</param>
public sealed record GroupParentRequest(string? Parent);

/// <param name="Ancestors">Parent first, then its parent, and so on.</param>
public sealed record GroupNestingView(string Group, string? Parent, IReadOnlyList<string> Ancestors, long StoreVersion);

public sealed record RouteEndpointView(string Group, string App, string Address, string Domain, string Host, string? DomainAddress);

/// <param name="Path">same-vm, same-host, trusted-segment or untrusted.</param>
/// <param name="Actions">Ordered sender-side actions: local, engine, encapsulate, seal; drop when denied.</param>
/// <param name="ForwardingPath">Underlay hops (the VMs' own addresses), empty on one VM.</param>
/// <param name="DecidedBy">"policy N", "default within group" or "default between groups".</param>
public sealed record RouteExplainView(
    RouteEndpointView Source,
    RouteEndpointView Destination,
    string Protocol,
    int Port,
    string Path,
    IReadOnlyList<string> Actions,
    IReadOnlyList<string> ForwardingPath,
    string Verdict,
    long? PolicyId,
    string DecidedBy,
    string Reason,
    long DirectoryVersion)
{
    /// <summary>
    /// Who applies the verdict: the agents of both VMs (sender first, receiver again) between VMs; nobody within one
    /// VM, where the VM's own kernel delivers from app to app without passing the overlay.
    /// </summary>
    public string EnforcedBy { get; init; } = "";

    /// <summary>
    /// The hosts the flow crosses, in order: one name when both VMs share a host, the sender's then the receiver's
    /// when it goes over the underlay between hosts; empty within one VM.
    /// </summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];

    /// <summary>False while the destination's host is down (its lease expired): agents have no route and drop.</summary>
    public bool DestinationReachable { get; init; } = true;

    /// <summary>Why this path class (the classifier's reason): e.g. the trusted segment holding both VMs.</summary>
    public string PathReason { get; init; } = "";
}

/// <summary>One mapping of the directory (seed 002 R1): app → its VM, host and the VM's address.</summary>
public sealed record DirectoryEntryView(string Group, string App, string Address, string Domain, string Host, string? DomainAddress, string? HostAddress);

public sealed record DirectoryView(long Version, IReadOnlyList<DirectoryEntryView> Entries);

/// <summary>What one reconciliation of the directory with libvirt found (overlayd's scheduled job; `overlayctl directory-reconcile`).</summary>
/// <param name="Stopped">In the directory and defined in libvirt, but not running: their engine slots were released.</param>
/// <param name="Missing">In the directory for this host, unknown to libvirt (undefined behind our back, or placed elsewhere).</param>
/// <param name="Unrecorded">Running in libvirt with OverlayKvm metadata, absent from the directory (their agents get no configuration).</param>
public sealed record DirectoryReconciliation(
    DateTimeOffset At,
    bool LibvirtReachable,
    IReadOnlyList<string> Running,
    IReadOnlyList<string> Stopped,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unrecorded,
    int SlotsReleased);

/// <summary>Source-generated JSON for the policy part of the admin API (kept apart from ApiJsonContext on purpose).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
[JsonSerializable(typeof(PolicyAddRequest))]
[JsonSerializable(typeof(PolicyView))]
[JsonSerializable(typeof(List<PolicyView>))]
[JsonSerializable(typeof(GroupParentRequest))]
[JsonSerializable(typeof(GroupNestingView))]
[JsonSerializable(typeof(List<GroupNestingView>))]
[JsonSerializable(typeof(RouteExplainView))]
[JsonSerializable(typeof(DirectoryView))]
[JsonSerializable(typeof(DirectoryReconciliation))]
[JsonSerializable(typeof(ErrorView))]
public sealed partial class PolicyJsonContext : JsonSerializerContext;
