using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Policy;

/// <summary>Definition shape and nesting checks (cycles, depth).</summary>
public sealed class PolicyRulesTests
{
    private static PolicyDefinition Def(PolicyProtocol protocol, PortRange? ports, params PolicySender[] senders) =>
        new("G3", senders, protocol, ports, PolicyVerdict.Allow);

    [Fact]
    public void CheckDefinition_PortsWithoutTcpOrUdp_Refused()
    {
        var e = Assert.Throws<ModelValidationException>(() => PolicyRules.CheckDefinition(Def(PolicyProtocol.Icmp, new PortRange(80, 80), PolicySender.AnySender)));
        Assert.Equal("policy for G3: ports", e.Field);
    }

    [Fact]
    public void CheckDefinition_SendersMissingDuplicatedOrContradictory_Refused()
    {
        Assert.Contains("missing", Assert.Throws<ModelValidationException>(() => PolicyRules.CheckDefinition(Def(PolicyProtocol.Any, null))).Message);
        Assert.Contains("twice", Assert.Throws<ModelValidationException>(() => PolicyRules.CheckDefinition(Def(PolicyProtocol.Any, null, PolicySender.OfGroup("G2"), PolicySender.OfGroup("G2")))).Message);
        Assert.Contains("both included and excluded", Assert.Throws<ModelValidationException>(() => PolicyRules.CheckDefinition(Def(PolicyProtocol.Any, null, PolicySender.OfGroup("G2"), PolicySender.OfGroup("G2", negated: true)))).Message);
        var tooMany = Enumerable.Range(0, PolicyRules.MaxSenders + 1).Select(i => PolicySender.OfGroup($"g{i}")).ToArray();
        Assert.Contains("at most", Assert.Throws<ModelValidationException>(() => PolicyRules.CheckDefinition(Def(PolicyProtocol.Any, null, tooMany))).Message);
        Assert.Throws<ModelValidationException>(() => PolicyRules.CheckDefinition(Def((PolicyProtocol)42, null, PolicySender.AnySender)));
    }

    [Fact]
    public void CheckParent_Cycle_Refused_AsConflict()
    {
        var parents = new Dictionary<string, string> { ["B"] = "A", ["C"] = "B" };
        var e = Assert.Throws<ModelValidationException>(() => PolicyRules.CheckParent("A", "C", parents));
        Assert.True(e.IsConflict);
        Assert.Contains("cycle", e.Message);
        Assert.Throws<ModelValidationException>(() => PolicyRules.CheckParent("A", "A", parents));
        PolicyRules.CheckParent("D", "C", parents); // a new leaf under the chain is fine
    }

    [Fact]
    public void CheckParent_ChainDeeperThanLimit_Refused()
    {
        var parents = new Dictionary<string, string>();
        for (var i = 1; i < PolicyRules.MaxNestingDepth; i++) parents[$"g{i}"] = $"g{i - 1}";
        // g15 has 15 groups above it: one more level is allowed, a second is not.
        PolicyRules.CheckParent("leaf", $"g{PolicyRules.MaxNestingDepth - 1}", parents);
        parents["leaf"] = $"g{PolicyRules.MaxNestingDepth - 1}";
        var e = Assert.Throws<ModelValidationException>(() => PolicyRules.CheckParent("deeper", "leaf", parents));
        Assert.Contains($"at most {PolicyRules.MaxNestingDepth}", e.Message);

        // Moving a group with sub-groups counts their depth too.
        var subtree = new Dictionary<string, string>(parents) { ["x1"] = "x0", ["x2"] = "x1" };
        Assert.Throws<ModelValidationException>(() => PolicyRules.CheckParent("x0", $"g{PolicyRules.MaxNestingDepth - 2}", subtree));
    }
}
