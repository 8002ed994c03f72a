using OverlayKvm.Core.Policy;
using static OverlayKvm.Core.Tests.Policy.PolicyTestWorld;

namespace OverlayKvm.Core.Tests.Policy;

/// <summary>The evaluator on the scenarios: ports, defaults, nesting, negation, CIDR, deny-over-allow.</summary>
public sealed class PolicySetTests
{
    private static readonly string[] Groups = ["G1", "G2", "G3", "G4", "G5"];

    [Fact]
    public void Evaluate_G3AcceptsTcp80FromG2_OnlyPort80Allowed()
    {
        var set = Set(Groups, [], [Rule(7, "G3", "tcp", "80", PolicyVerdict.Allow, "G2")]);
        var b = set.At("G2", "b", "10.2.0.5");
        var d = set.At("G3", "d", "10.3.0.5");

        var http = set.Evaluate(b, d, IpProtocolNumbers.Tcp, 80);
        Assert.Equal((PolicyVerdict.Allow, DecisionBasis.Policy, 7L), (http.Verdict, http.Basis, http.PolicyId));
        Assert.Equal("policy 7: G3 accepts tcp/80 from group:G2", http.Reason);

        foreach (var (proto, port) in new[] { (IpProtocolNumbers.Tcp, (ushort)81), (IpProtocolNumbers.Tcp, (ushort)22), (IpProtocolNumbers.Udp, (ushort)80), ((byte)0, (ushort)0) })
        {
            var other = set.Evaluate(b, d, proto, port);
            Assert.Equal((PolicyVerdict.Deny, DecisionBasis.DefaultBetweenGroups, 0L), (other.Verdict, other.Basis, other.PolicyId));
        }

        // The policy is one-way: D → B is between groups with no policy.
        Assert.Equal(DecisionBasis.DefaultBetweenGroups, set.Evaluate(d, b, IpProtocolNumbers.Tcp, 80).Basis);
    }

    [Fact]
    public void Evaluate_NoPolicy_DefaultsApply_AndAreConfigurable()
    {
        var standard = Set(Groups, [], []);
        var a = standard.At("G3", "a", "10.3.0.1");
        var b = standard.At("G3", "b", "10.3.0.2");
        var x = standard.At("G2", "x", "10.2.0.1");
        Assert.Equal((PolicyVerdict.Allow, DecisionBasis.DefaultWithinGroup), Pair(standard.Evaluate(a, b, IpProtocolNumbers.Udp, 53)));
        Assert.Equal((PolicyVerdict.Deny, DecisionBasis.DefaultBetweenGroups), Pair(standard.Evaluate(x, b, IpProtocolNumbers.Udp, 53)));

        var inverted = Set(Groups, [], [], new PolicyDefaults(PolicyVerdict.Allow, PolicyVerdict.Deny));
        Assert.Equal((PolicyVerdict.Deny, DecisionBasis.DefaultWithinGroup), Pair(inverted.Evaluate(inverted.At("G3", "a", "10.3.0.1"), inverted.At("G3", "b", "10.3.0.2"), IpProtocolNumbers.Udp, 53)));
        Assert.Equal((PolicyVerdict.Allow, DecisionBasis.DefaultBetweenGroups), Pair(inverted.Evaluate(inverted.At("G2", "x", "10.2.0.1"), inverted.At("G3", "b", "10.3.0.2"), IpProtocolNumbers.Udp, 53)));
    }

    [Fact]
    public void Evaluate_NestedGroups_DestinationAndSenderIncludeSubGroups()
    {
        // G5 nested under G3 (R4.2): G3's policy applies to G5's members. G4 nested under G2: a G4 sender is "member of G2".
        var set = Set(Groups, [("G5", "G3"), ("G4", "G2")], [Rule(1, "G3", "tcp", "443", PolicyVerdict.Allow, "G2")]);
        var fromG4 = set.At("G4", "s", "10.4.0.1");
        var toG5 = set.At("G5", "r", "10.5.0.1");
        Assert.Equal(1, set.Evaluate(fromG4, toG5, IpProtocolNumbers.Tcp, 443).PolicyId);
        Assert.True(set.Evaluate(fromG4, toG5, IpProtocolNumbers.Tcp, 443).IsAllowed);

        // Nesting is one-way: G2's members are not members of G4, G3's are not members of G5.
        var g2Policy = Set(Groups, [("G5", "G3")], [Rule(1, "G5", "any", null, PolicyVerdict.Allow, "G4")]);
        Assert.False(g2Policy.Evaluate(g2Policy.At("G2", "s", "10.2.0.1"), g2Policy.At("G5", "r", "10.5.0.1"), IpProtocolNumbers.Tcp, 1).IsAllowed);
        Assert.Equal(DecisionBasis.DefaultBetweenGroups, g2Policy.Evaluate(g2Policy.At("G3", "s", "10.3.0.1"), g2Policy.At("G5", "r", "10.5.0.1"), IpProtocolNumbers.Tcp, 1).Basis);
    }

    [Fact]
    public void Evaluate_NegativeSenders_EveryoneExcept()
    {
        var set = Set(Groups, [], [
            Rule(1, "G3", "any", null, PolicyVerdict.Allow, "not:G1"),
            Rule(2, "G4", "tcp", "22", PolicyVerdict.Allow, "G2", "not:app:G2/intern"),
        ]);
        var d = set.At("G3", "d", "10.3.0.1");
        Assert.True(set.Evaluate(set.At("G2", "b", "10.2.0.1"), d, IpProtocolNumbers.Udp, 9).IsAllowed);
        Assert.False(set.Evaluate(set.At("G1", "a", "10.1.0.1"), d, IpProtocolNumbers.Udp, 9).IsAllowed);

        var ssh = set.At("G4", "ssh", "10.4.0.1");
        Assert.True(set.Evaluate(set.At("G2", "admin", "10.2.0.2"), ssh, IpProtocolNumbers.Tcp, 22).IsAllowed);
        Assert.False(set.Evaluate(set.At("G2", "intern", "10.2.0.3"), ssh, IpProtocolNumbers.Tcp, 22).IsAllowed);
    }

    [Fact]
    public void Evaluate_CidrAndAppSenders_MatchByAddressAndName()
    {
        var set = Set(Groups, [], [
            Rule(1, "G3", "udp", "5000-5010", PolicyVerdict.Allow, "10.2.1.0/24"),
            Rule(2, "G3", "icmp", null, PolicyVerdict.Allow, "G1/pinger"),
        ]);
        var d = set.At("G3", "d", "10.3.0.1");
        Assert.True(set.Evaluate(set.At("G2", "x", "10.2.1.77"), d, IpProtocolNumbers.Udp, 5005).IsAllowed);
        Assert.False(set.Evaluate(set.At("G2", "x", "10.2.1.77"), d, IpProtocolNumbers.Udp, 5011).IsAllowed);
        Assert.False(set.Evaluate(set.At("G2", "y", "10.2.2.1"), d, IpProtocolNumbers.Udp, 5005).IsAllowed);
        Assert.True(set.Evaluate(set.At("G1", "pinger", "10.1.0.9"), d, IpProtocolNumbers.Icmp, 0).IsAllowed);
        Assert.True(set.Evaluate(set.At("G1", "pinger", "10.1.0.9"), d, IpProtocolNumbers.IcmpV6, 0).IsAllowed);
        Assert.False(set.Evaluate(set.At("G1", "other", "10.1.0.8"), d, IpProtocolNumbers.Icmp, 0).IsAllowed);
        // An IPv6 sender never falls into an IPv4 range with the same low bits.
        Assert.False(set.Evaluate(set.At("G2", "v6", "::a02:14d"), d, IpProtocolNumbers.Udp, 5005).IsAllowed);
    }

    [Fact]
    public void Evaluate_DenyBeatsAllow_AndLowestIdDecidesAmongEquals()
    {
        var set = Set(Groups, [("G5", "G3")], [
            Rule(4, "G5", "tcp", "80", PolicyVerdict.Allow, "G2"),
            Rule(9, "G3", "tcp", "1-1024", PolicyVerdict.Deny, "G2/bad"),
            Rule(3, "G5", "any", null, PolicyVerdict.Allow, "any"),
        ]);
        var r = set.At("G5", "r", "10.5.0.1");
        var good = set.Evaluate(set.At("G2", "good", "10.2.0.1"), r, IpProtocolNumbers.Tcp, 80);
        Assert.Equal((PolicyVerdict.Allow, 3L), (good.Verdict, good.PolicyId));
        var bad = set.Evaluate(set.At("G2", "bad", "10.2.0.2"), r, IpProtocolNumbers.Tcp, 80);
        Assert.Equal((PolicyVerdict.Deny, 9L), (bad.Verdict, bad.PolicyId));
        Assert.Equal("policy 9: G3 refuses tcp/1-1024 from app:G2/bad", bad.Reason);
    }

    [Fact]
    public void Evaluate_UnknownGroups_MatchNoGroupTerm_AndAreNeverWithinAGroup()
    {
        var set = Set(["G3"], [], [Rule(1, "G3", "any", null, PolicyVerdict.Allow, "G2")]);
        var stranger = set.Endpoint("nosuch", "x", System.Net.IPAddress.Parse("10.9.0.1"));
        Assert.Equal(-1, stranger.Group);
        Assert.Equal(DecisionBasis.DefaultBetweenGroups, set.Evaluate(stranger, stranger, IpProtocolNumbers.Tcp, 1).Basis);
        Assert.False(set.Evaluate(stranger, set.At("G3", "d", "10.3.0.1"), IpProtocolNumbers.Tcp, 1).IsAllowed);
    }

    [Fact]
    public void Evaluate_CachedEndpoints_AllocatesNothing()
    {
        var policies = new List<AccessPolicy>();
        for (var i = 1; i <= 200; i++) policies.Add(Rule(i, "G3", "tcp", (1000 + i).ToString(), PolicyVerdict.Allow, $"10.2.{i}.0/24", "not:G1"));
        policies.Add(Rule(201, "G3", "tcp", "80", PolicyVerdict.Allow, "G2"));
        var set = Set(Groups, [("G5", "G3"), ("G4", "G2")], policies);
        var source = set.At("G4", "b", "10.4.0.5");
        var destination = set.At("G5", "d", "10.5.0.5");
        var decision = set.Evaluate(source, destination, IpProtocolNumbers.Tcp, 80); // warm up (JIT, tiering)

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++) decision = set.Evaluate(source, destination, IpProtocolNumbers.Tcp, 80);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(201, decision.PolicyId);
        Assert.Equal(0, allocated);
    }

    private static (PolicyVerdict, DecisionBasis) Pair(PolicyDecision d) => (d.Verdict, d.Basis);
}
