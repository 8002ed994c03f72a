using FsCheck;
using FsCheck.Fluent;
using OverlayKvm.Core.Policy;

namespace OverlayKvm.Core.Tests.Policy;

/// <summary>
/// Random worlds (groups with random acyclic nesting, random policies, random flows) checked against a
/// deliberately naive reference written from the rules in docs/policy.md, plus the algebraic properties an
/// operator relies on: order of policies does not matter, adding an allow never denies, adding a deny never allows.
/// </summary>
public sealed class PolicyEvaluatorPropertyTests
{
    private static readonly FsCheck.Config Runs = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(400);

    [Fact]
    public void Evaluate_AnyWorld_AgreesWithNaiveReference() =>
        Prop.ForAll(ArbMap.Default.ArbFor<int>(), seed =>
        {
            var world = World.Random(seed);
            var set = world.Compile(world.Policies);
            foreach (var flow in world.Flows)
            {
                var actual = set.Evaluate(set.Endpoint(flow.Src.Group, flow.Src.App, flow.Src.Address), set.Endpoint(flow.Dst.Group, flow.Dst.App, flow.Dst.Address), flow.Protocol, flow.Port);
                var expected = world.Reference(world.Policies, flow);
                if ((actual.Verdict, actual.Basis, actual.PolicyId) != expected)
                {
                    return false.Label($"seed {seed}: {flow} gave {actual} expected {expected}");
                }
            }

            return true.Label("ok");
        }).Check(Runs);

    [Fact]
    public void Evaluate_PolicyOrder_DoesNotMatter() =>
        Prop.ForAll(ArbMap.Default.ArbFor<int>(), seed =>
        {
            var world = World.Random(seed);
            var shuffled = world.Policies.OrderBy(_ => world.Rng.Next()).ToList();
            var a = world.Compile(world.Policies);
            var b = world.Compile(shuffled);
            return world.Flows.All(f => world.Decide(a, f) == world.Decide(b, f));
        }).Check(Runs);

    [Fact]
    public void Evaluate_AddingAllow_NeverDenies_AddingDeny_NeverAllows() =>
        Prop.ForAll(ArbMap.Default.ArbFor<int>(), seed =>
        {
            var world = World.Random(seed);
            var before = world.Compile(world.Policies);
            var extra = world.RandomPolicy(1000);
            var after = world.Compile([.. world.Policies, extra]);
            foreach (var flow in world.Flows)
            {
                var (v0, _, _) = world.Decide(before, flow);
                var (v1, _, _) = world.Decide(after, flow);
                if (extra.Definition.Verdict == PolicyVerdict.Allow && v0 == PolicyVerdict.Allow && v1 != PolicyVerdict.Allow) return false;
                if (extra.Definition.Verdict == PolicyVerdict.Deny && v0 == PolicyVerdict.Deny && v1 != PolicyVerdict.Deny) return false;
            }

            return true;
        }).Check(Runs);

    [Fact]
    public void Evaluate_DecidingPolicy_MatchesTheFlow_AndHasTheVerdict() =>
        Prop.ForAll(ArbMap.Default.ArbFor<int>(), seed =>
        {
            var world = World.Random(seed);
            var set = world.Compile(world.Policies);
            foreach (var flow in world.Flows)
            {
                var (verdict, basis, id) = world.Decide(set, flow);
                if (basis != DecisionBasis.Policy) continue;
                var policy = world.Policies.Single(p => p.Id == id);
                if (policy.Definition.Verdict != verdict || !world.Matches(policy, flow)) return false;
            }

            return true;
        }).Check(Runs);

    internal sealed record Member(string Group, string App, System.Net.IPAddress Address);

    internal sealed record Flow(Member Src, Member Dst, byte Protocol, ushort Port);

    internal sealed class World
    {
        private static readonly byte[] Protocols = [0, IpProtocolNumbers.Icmp, IpProtocolNumbers.Tcp, IpProtocolNumbers.Udp, IpProtocolNumbers.IcmpV6, 47];

        public Random Rng { get; private init; } = new(0);
        public List<string> Groups { get; } = [];
        public Dictionary<string, string> Parents { get; } = new(StringComparer.Ordinal);
        public List<Member> Members { get; } = [];
        public List<AccessPolicy> Policies { get; } = [];
        public List<Flow> Flows { get; } = [];
        public PolicyDefaults Defaults { get; private set; } = PolicyDefaults.Standard;

        public static World Random(int seed)
        {
            var world = new World { Rng = new Random(seed) };
            var rng = world.Rng;
            var groups = rng.Next(1, 6);
            for (var g = 0; g < groups; g++)
            {
                world.Groups.Add($"g{g}");
                // Parent index below the child's: acyclic by construction.
                if (g > 0 && rng.Next(3) == 0) world.Parents[$"g{g}"] = $"g{rng.Next(g)}";
                for (var a = 0; a < rng.Next(1, 4); a++)
                    world.Members.Add(new Member($"g{g}", $"a{a}", System.Net.IPAddress.Parse($"10.{g}.{rng.Next(0, 3)}.{a + 1}")));
            }

            world.Defaults = new PolicyDefaults((PolicyVerdict)rng.Next(2), (PolicyVerdict)rng.Next(2));
            for (var i = 1; i <= rng.Next(0, 8); i++) world.Policies.Add(world.RandomPolicy(i));
            for (var f = 0; f < 20; f++)
            {
                var protocol = Protocols[rng.Next(Protocols.Length)];
                var port = protocol is IpProtocolNumbers.Tcp or IpProtocolNumbers.Udp ? (ushort)rng.Next(1, 8) : (ushort)0;
                world.Flows.Add(new Flow(world.Members[rng.Next(world.Members.Count)], world.Members[rng.Next(world.Members.Count)], protocol, port));
            }

            return world;
        }

        public AccessPolicy RandomPolicy(long id)
        {
            var rng = Rng;
            var senders = new List<PolicySender>();
            for (var s = 0; s < rng.Next(1, 4); s++)
            {
                var negated = rng.Next(4) == 0;
                var member = Members[rng.Next(Members.Count)];
                PolicySender sender = rng.Next(4) switch
                {
                    0 => negated ? PolicySender.OfGroup(member.Group, true) : PolicySender.AnySender,
                    1 => PolicySender.OfGroup(member.Group, negated),
                    2 => PolicySender.OfApp(member.Group, member.App, negated),
                    _ => PolicySender.OfCidr(System.Net.IPNetwork.Parse($"10.{member.Group[1..]}.{rng.Next(0, 3)}.0/24"), negated),
                };
                if (!senders.Any(x => x.ToString() == sender.ToString() || x.ToString() == (sender with { Negated = !sender.Negated }).ToString()))
                    senders.Add(sender);
            }

            var protocol = (PolicyProtocol)new byte[] { 0, 1, 6, 17 }[rng.Next(4)];
            PortRange? ports = null;
            if (protocol is PolicyProtocol.Tcp or PolicyProtocol.Udp && rng.Next(2) == 0)
            {
                var first = (ushort)rng.Next(1, 6);
                ports = new PortRange(first, (ushort)(first + rng.Next(0, 3)));
            }

            var definition = new PolicyDefinition(Groups[rng.Next(Groups.Count)], senders, protocol, ports, (PolicyVerdict)rng.Next(2));
            PolicyRules.CheckDefinition(definition);
            return new AccessPolicy(id, definition, id);
        }

        public PolicySet Compile(IReadOnlyList<AccessPolicy> policies) =>
            PolicySet.Compile(Groups, Parents.Select(p => new GroupParent(p.Key, p.Value, 1)).ToList(), policies, Defaults);

        public (PolicyVerdict, DecisionBasis, long) Decide(PolicySet set, Flow flow)
        {
            var d = set.Evaluate(set.Endpoint(flow.Src.Group, flow.Src.App, flow.Src.Address), set.Endpoint(flow.Dst.Group, flow.Dst.App, flow.Dst.Address), flow.Protocol, flow.Port);
            return (d.Verdict, d.Basis, d.PolicyId);
        }

        // ---- the naive reference: straight from the written rules, no indexes, no early exits ----

        public (PolicyVerdict, DecisionBasis, long) Reference(IReadOnlyList<AccessPolicy> policies, Flow flow)
        {
            var matching = policies.Where(p => Matches(p, flow)).ToList();
            var deny = matching.Where(p => p.Definition.Verdict == PolicyVerdict.Deny).OrderBy(p => p.Id).FirstOrDefault();
            var allow = matching.Where(p => p.Definition.Verdict == PolicyVerdict.Allow).OrderBy(p => p.Id).FirstOrDefault();
            if ((deny ?? allow) is { } decider) return (decider.Definition.Verdict, DecisionBasis.Policy, decider.Id);
            return flow.Src.Group == flow.Dst.Group
                ? (Defaults.WithinGroup, DecisionBasis.DefaultWithinGroup, 0)
                : (Defaults.BetweenGroups, DecisionBasis.DefaultBetweenGroups, 0);
        }

        public bool Matches(AccessPolicy policy, Flow flow)
        {
            var d = policy.Definition;
            if (!IsWithin(flow.Dst.Group, d.DestinationGroup)) return false;
            var protocolOk = d.Protocol switch
            {
                PolicyProtocol.Any => true,
                PolicyProtocol.Icmp => flow.Protocol is 1 or 58,
                _ => flow.Protocol == (byte)d.Protocol,
            };
            if (!protocolOk) return false;
            if (d.Ports is { } ports && !(flow.Port >= ports.First && flow.Port <= ports.Last)) return false;
            var positives = d.Senders.Where(s => !s.Negated).ToList();
            if (d.Senders.Where(s => s.Negated).Any(s => SenderMatches(s, flow.Src))) return false;
            return positives.Count == 0 || positives.Any(s => SenderMatches(s, flow.Src));
        }

        private bool SenderMatches(PolicySender sender, Member member) => sender.Kind switch
        {
            SenderKind.Any => true,
            SenderKind.Group => IsWithin(member.Group, sender.Group!),
            SenderKind.App => member.Group == sender.Group && member.App == sender.App,
            SenderKind.Cidr => sender.Cidr!.Value.Contains(member.Address),
            _ => false,
        };

        private bool IsWithin(string group, string ancestor)
        {
            for (string? g = group; g is not null; g = Parents.GetValueOrDefault(g))
                if (g == ancestor) return true;
            return false;
        }
    }
}
