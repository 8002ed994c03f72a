using OverlayKvm.Core.Api;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Policy;

namespace OverlayKvm.HostDaemon.Policy;

/// <summary>Policy records and lookups → API views, in the text forms of <see cref="PolicyText"/>.</summary>
internal static class PolicyViews
{
    public static PolicyView ToView(this AccessPolicy policy)
    {
        var config = PolicyConfigConversion.ToConfig(policy);
        return new PolicyView(policy.Id, config.Destination, config.From, config.Protocol, config.Ports, config.Verdict, policy.Version, PolicyText.Describe(policy.Definition));
    }

    public static RouteExplainView ToView(this RouteLookup lookup)
    {
        var actions = TransformActions.Names(lookup.Actions);
        var decision = lookup.Decision;
        return new RouteExplainView(
            ToView(lookup.Source),
            ToView(lookup.Destination),
            ProtocolName(lookup.Protocol),
            lookup.Port,
            PathName(lookup.Path),
            actions,
            lookup.ForwardingPath,
            PolicyText.FormatVerdict(decision.Verdict),
            decision.Basis == DecisionBasis.Policy ? decision.PolicyId : null,
            decision.Basis switch
            {
                DecisionBasis.Policy => $"policy {decision.PolicyId}",
                DecisionBasis.DefaultWithinGroup => "default within group",
                DecisionBasis.DefaultBetweenGroups => "default between groups",
                _ => "unknown endpoint",
            },
            decision.Reason,
            lookup.DirectoryVersion)
        {
            EnforcedBy = lookup.Enforced ? "sender's agent, then receiver's agent" : "not enforced: the VM's own kernel delivers between its apps",
            Hosts = HostsOf(lookup),
            DestinationReachable = lookup.Destination.Reachable,
            PathReason = lookup.PathReason,
        };
    }

    private static IReadOnlyList<string> HostsOf(RouteLookup lookup)
    {
        if (lookup.Path == PathClass.SameVm) return [];
        var (from, to) = (Named(lookup.Source.Host), Named(lookup.Destination.Host));
        return string.Equals(from, to, StringComparison.Ordinal) ? [from] : [from, to];
    }

    private static string Named(string host) => host.Length == 0 ? "?" : host;

    public static string PathName(PathClass path) => PathClasses.Name(path);

    public static string ProtocolName(byte protocol) => protocol switch
    {
        0 => "any",
        IpProtocolNumbers.Tcp => "tcp",
        IpProtocolNumbers.Udp => "udp",
        IpProtocolNumbers.Icmp => "icmp",
        IpProtocolNumbers.IcmpV6 => "icmpv6",
        _ => protocol.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static RouteEndpointView ToView(DirectoryEntry e) =>
        new(e.Group, e.App, e.Address.ToString(), e.Domain, e.Host, e.DomainAddress?.ToString());
}
