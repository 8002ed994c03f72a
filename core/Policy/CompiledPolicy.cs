namespace OverlayKvm.Core.Policy;

/// <summary>A policy flattened for evaluation: group names replaced by indexes, CIDRs by number ranges.</summary>
internal sealed class CompiledPolicy
{
    private readonly PolicyProtocol _protocol;
    private readonly bool _hasPorts;
    private readonly ushort _portFirst;
    private readonly ushort _portLast;
    private readonly CompiledSender[] _senders;

    public CompiledPolicy(long id, PolicyVerdict verdict, PolicyProtocol protocol, PortRange? ports, CompiledSender[] senders, string reason)
    {
        Id = id;
        Verdict = verdict;
        Reason = reason;
        _protocol = protocol;
        _hasPorts = ports.HasValue;
        _portFirst = ports?.First ?? 0;
        _portLast = ports?.Last ?? 0;
        _senders = senders;
    }

    public long Id { get; }

    public PolicyVerdict Verdict { get; }

    /// <summary>Built once at compile time, so a decision that names this policy allocates nothing.</summary>
    public string Reason { get; }

    public bool Matches(PolicySet set, in PolicyEndpoint source, byte protocol, ushort port)
    {
        switch (_protocol)
        {
            case PolicyProtocol.Any:
                break;
            case PolicyProtocol.Icmp:
                if (protocol is not (IpProtocolNumbers.Icmp or IpProtocolNumbers.IcmpV6))
                {
                    return false;
                }

                break;
            default:
                if (protocol != (byte)_protocol)
                {
                    return false;
                }

                break;
        }

        if (_hasPorts && (port < _portFirst || port > _portLast))
        {
            return false;
        }

        // Negated terms exclude outright; otherwise one positive term must match (none listed = everyone).
        var anyPositive = false;
        var positiveHit = false;
        foreach (ref readonly var sender in _senders.AsSpan())
        {
            if (sender.Negated)
            {
                if (sender.Matches(set, source))
                {
                    return false;
                }
            }
            else
            {
                anyPositive = true;
                if (!positiveHit && sender.Matches(set, source))
                {
                    positiveHit = true;
                }
            }
        }

        return !anyPositive || positiveHit;
    }
}

/// <summary>One sender term, ready to compare against a <see cref="PolicyEndpoint"/> without allocating.</summary>
internal readonly struct CompiledSender(SenderKind kind, bool negated, int group, string? app, UInt128 first, UInt128 last, bool isIPv6)
{
    public bool Negated { get; } = negated;

    public bool Matches(PolicySet set, in PolicyEndpoint source) => kind switch
    {
        SenderKind.Any => true,
        SenderKind.Group => group >= 0 && set.IsWithin(source.Group, group),
        SenderKind.App => group >= 0 && source.Group == group && string.Equals(source.App, app, StringComparison.Ordinal),
        SenderKind.Cidr => source.IsIPv6 == isIPv6 && source.Address >= first && source.Address <= last,
        _ => false,
    };
}
