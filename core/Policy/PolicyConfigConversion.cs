using OverlayKvm.Core.Config;

namespace OverlayKvm.Core.Policy;

/// <summary>Policies ↔ their document form; lets an agent compile the same <see cref="PolicySet"/> the daemon uses.</summary>
public static class PolicyConfigConversion
{
    public static PolicyConfig ToConfig(AccessPolicy policy)
    {
        var d = policy.Definition;
        var from = new List<string>(d.Senders.Count);
        foreach (var sender in d.Senders)
        {
            from.Add(PolicyText.FormatSender(sender));
        }

        return new PolicyConfig(policy.Id, d.DestinationGroup, from, PolicyText.FormatProtocol(d.Protocol), d.Ports?.ToString(), PolicyText.FormatVerdict(d.Verdict), policy.Version);
    }

    /// <summary>Parses a document's policy back; a malformed one throws <see cref="Store.ModelValidationException"/> naming it.</summary>
    public static AccessPolicy FromConfig(PolicyConfig config)
    {
        var field = $"policy {config.Id}";
        var senders = new List<PolicySender>(config.From.Count);
        for (var i = 0; i < config.From.Count; i++)
        {
            senders.Add(PolicyText.ParseSender($"{field}: sender[{i}]", config.From[i]));
        }

        var definition = new PolicyDefinition(
            config.Destination,
            senders,
            PolicyText.ParseProtocol($"{field}: protocol", config.Protocol),
            config.Ports is null ? null : PortRange.Parse($"{field}: ports", config.Ports),
            PolicyText.ParseVerdict($"{field}: verdict", config.Verdict));
        PolicyRules.CheckDefinition(definition);
        return new AccessPolicy(config.Id, definition, config.Version);
    }

    /// <summary>The policy set an agent enforces for its domain, compiled from its configuration document.</summary>
    public static PolicySet Compile(DomainConfigDocument document)
    {
        var groups = new List<string>(document.Groups.Count);
        foreach (var group in document.Groups)
        {
            groups.Add(group.Name);
        }

        foreach (var neighbor in document.Neighbors)
        {
            groups.Add(neighbor.Name);
        }

        var parents = new List<GroupParent>(document.GroupParents.Count);
        foreach (var row in document.GroupParents)
        {
            parents.Add(new GroupParent(row.Group, row.Parent, 0));
        }

        var policies = new List<AccessPolicy>(document.Policies.Count);
        foreach (var policy in document.Policies)
        {
            policies.Add(FromConfig(policy));
        }

        return PolicySet.Compile(groups, parents, policies, document.PolicyDefaults?.ToDefaults() ?? PolicyDefaults.Standard);
    }
}
