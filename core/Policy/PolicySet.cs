using System.Net;
using System.Net.Sockets;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Policy;

/// <summary>
/// Policies, group nesting and defaults compiled once (per store version) for evaluation. Evaluation walks
/// the destination group and its ancestors (at most <see cref="PolicyRules.MaxNestingDepth"/> steps) and
/// checks the policies attached to each; it allocates nothing. Among matching policies an explicit deny wins
/// over an allow (the most restrictive answer); among equals the oldest policy (lowest id) decides, so the
/// answer and its reason are deterministic. With no match a default decides: within one group, or between groups.
/// </summary>
public sealed class PolicySet
{
    private readonly Dictionary<string, int> _groupIndex;
    private readonly string[] _groupNames;
    private readonly int[] _parent;
    // Per destination group: its deny policies and its allow policies, each by ascending id, so the first match
    // in each list is that group's decider and the scan stops there.
    private readonly CompiledPolicy[][] _denies;
    private readonly CompiledPolicy[][] _allows;
    private readonly string _withinReason;
    private readonly string _betweenReason;

    private PolicySet(Dictionary<string, int> groupIndex, string[] groupNames, int[] parent, CompiledPolicy[][] denies, CompiledPolicy[][] allows, PolicyDefaults defaults, int count)
    {
        _groupIndex = groupIndex;
        _groupNames = groupNames;
        _parent = parent;
        _denies = denies;
        _allows = allows;
        Defaults = defaults;
        PolicyCount = count;
        _withinReason = $"no policy matched; default for traffic within a group: {PolicyText.FormatVerdict(defaults.WithinGroup)}";
        _betweenReason = $"no policy matched; default for traffic between groups: {PolicyText.FormatVerdict(defaults.BetweenGroups)}";
    }

    public PolicyDefaults Defaults { get; }

    public int PolicyCount { get; }

    public int GroupCount => _groupNames.Length;

    public static PolicySet Compile(StoreSnapshot snapshot, PolicyDefaults defaults)
    {
        var names = new List<string>(snapshot.Groups.Count);
        foreach (var group in snapshot.Groups)
        {
            names.Add(group.Name);
        }

        return Compile(names, snapshot.GroupParents, snapshot.Policies, defaults);
    }

    /// <summary>
    /// Compiles from plain lists. Group names mentioned only by nesting rows or policies are indexed too, so a
    /// set compiled from a configuration document (which holds only some groups) still evaluates them.
    /// </summary>
    public static PolicySet Compile(IEnumerable<string> groups, IReadOnlyList<GroupParent> parents, IReadOnlyList<AccessPolicy> policies, PolicyDefaults defaults)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new List<string>();
        int Intern(string name)
        {
            if (!index.TryGetValue(name, out var i))
            {
                i = names.Count;
                index[name] = i;
                names.Add(name);
            }

            return i;
        }

        foreach (var name in groups)
        {
            Intern(name);
        }

        foreach (var row in parents)
        {
            Intern(row.Group);
            Intern(row.Parent);
        }

        foreach (var policy in policies)
        {
            foreach (var name in PolicyRules.NamedGroups(policy.Definition))
            {
                Intern(name);
            }
        }

        var parent = new int[names.Count];
        Array.Fill(parent, -1);
        foreach (var row in parents)
        {
            parent[index[row.Group]] = index[row.Parent];
        }

        var lists = new List<CompiledPolicy>[names.Count];
        foreach (var policy in policies)
        {
            var d = policy.Definition;
            var senders = new CompiledSender[d.Senders.Count];
            for (var i = 0; i < senders.Length; i++)
            {
                senders[i] = CompileSender(d.Senders[i], index);
            }

            var destination = index[d.DestinationGroup];
            (lists[destination] ??= []).Add(new CompiledPolicy(policy.Id, d.Verdict, d.Protocol, d.Ports, senders, policy.ToString()));
        }

        var denies = new CompiledPolicy[names.Count][];
        var allows = new CompiledPolicy[names.Count][];
        for (var i = 0; i < names.Count; i++)
        {
            var list = lists[i] ?? [];
            list.Sort(static (a, b) => a.Id.CompareTo(b.Id));
            denies[i] = [.. list.Where(static p => p.Verdict == PolicyVerdict.Deny)];
            allows[i] = [.. list.Where(static p => p.Verdict == PolicyVerdict.Allow)];
        }

        return new PolicySet(index, [.. names], parent, denies, allows, defaults, policies.Count);
    }

    /// <summary>The group's index, or -1 for a group this set has never heard of (matches no group term).</summary>
    public int GroupIndex(string group) => _groupIndex.TryGetValue(group, out var i) ? i : -1;

    public string GroupName(int index) => _groupNames[index];

    /// <summary>An endpoint for evaluation (allocation happens here, once per app, not per packet).</summary>
    public PolicyEndpoint Endpoint(string group, string app, IPAddress address)
    {
        var canonical = AddressMath.Canonical(address);
        return new PolicyEndpoint(GroupIndex(group), app, AddressMath.ToNumber(canonical), canonical.AddressFamily == AddressFamily.InterNetworkV6);
    }

    /// <summary>True when <paramref name="group"/> is <paramref name="ancestor"/> or nested (at any depth) below it.</summary>
    public bool IsWithin(int group, int ancestor)
    {
        var current = group;
        for (var step = 0; current >= 0 && step <= PolicyRules.MaxNestingDepth; step++)
        {
            if (current == ancestor)
            {
                return true;
            }

            current = _parent[current];
        }

        return false;
    }

    /// <summary>
    /// Decides a flow from <paramref name="source"/> to <paramref name="destination"/>. <paramref name="protocol"/>
    /// is the IP protocol number (0 = unspecified: only protocol-"any" policies match), <paramref name="port"/>
    /// the destination port (0 = none: policies restricted to ports do not match).
    /// </summary>
    public PolicyDecision Evaluate(in PolicyEndpoint source, in PolicyEndpoint destination, byte protocol, ushort port)
    {
        CompiledPolicy? deny = null;
        CompiledPolicy? allow = null;
        var group = destination.Group;
        for (var step = 0; group >= 0 && step <= PolicyRules.MaxNestingDepth; step++)
        {
            var found = FirstMatch(_denies[group], source, protocol, port);
            if (found is not null && (deny is null || found.Id < deny.Id))
            {
                deny = found;
            }

            // Once a deny decides, allows no longer matter.
            if (deny is null)
            {
                found = FirstMatch(_allows[group], source, protocol, port);
                if (found is not null && (allow is null || found.Id < allow.Id))
                {
                    allow = found;
                }
            }

            group = _parent[group];
        }

        var decider = deny ?? allow;
        if (decider is not null)
        {
            return new PolicyDecision(decider.Verdict, DecisionBasis.Policy, decider.Id, decider.Reason);
        }

        return source.Group >= 0 && source.Group == destination.Group
            ? new PolicyDecision(Defaults.WithinGroup, DecisionBasis.DefaultWithinGroup, 0, _withinReason)
            : new PolicyDecision(Defaults.BetweenGroups, DecisionBasis.DefaultBetweenGroups, 0, _betweenReason);
    }

    private CompiledPolicy? FirstMatch(CompiledPolicy[] byId, in PolicyEndpoint source, byte protocol, ushort port)
    {
        foreach (var policy in byId)
        {
            if (policy.Matches(this, source, protocol, port))
            {
                return policy;
            }
        }

        return null;
    }

    private static CompiledSender CompileSender(PolicySender sender, Dictionary<string, int> index)
    {
        var group = sender.Group is { } name && index.TryGetValue(name, out var i) ? i : -1;
        if (sender.Kind == SenderKind.Cidr && sender.Cidr is { } cidr)
        {
            var (first, last) = AddressMath.Bounds(cidr);
            return new CompiledSender(sender.Kind, sender.Negated, -1, null, first, last, cidr.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6);
        }

        return new CompiledSender(sender.Kind, sender.Negated, group, sender.App, 0, 0, false);
    }
}
