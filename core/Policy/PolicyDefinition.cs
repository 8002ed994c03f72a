namespace OverlayKvm.Core.Policy;

/// <summary>
/// An access policy as an operator states it, before the store gives it an id (R4.3, R3.17): traffic to
/// members of <see cref="DestinationGroup"/> (sub-groups included) from the <see cref="Senders"/>, using
/// <see cref="Protocol"/> (and <see cref="Ports"/> for tcp/udp), gets <see cref="Verdict"/>.
/// </summary>
/// <param name="Ports">Null = every port. Only with tcp or udp.</param>
public sealed record PolicyDefinition(
    string DestinationGroup,
    IReadOnlyList<PolicySender> Senders,
    PolicyProtocol Protocol,
    PortRange? Ports,
    PolicyVerdict Verdict);

/// <summary>A stored policy: its definition, its store-assigned id (never reused) and the version that created it.</summary>
public sealed record AccessPolicy(long Id, PolicyDefinition Definition, long Version)
{
    public string DestinationGroup => Definition.DestinationGroup;

    public override string ToString() => $"policy {Id}: {PolicyText.Describe(Definition)}";
}

/// <summary>Group nesting (R4.2): <paramref name="Group"/> is a sub-group of <paramref name="Parent"/>.</summary>
public sealed record GroupParent(string Group, string Parent, long Version);
