using System.Net;
using System.Text.Json;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Json;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Policy;

/// <summary>Which policies a domain's document carries, and that an agent compiles the same decisions from it.</summary>
public sealed class DomainPolicySelectionTests
{
    private static readonly AccessPolicy ToG3 = new(1, new PolicyDefinition("G3", [PolicySender.OfGroup("G2")], PolicyProtocol.Tcp, new PortRange(80, 80), PolicyVerdict.Allow), 10);
    private static readonly AccessPolicy ToG2 = new(2, new PolicyDefinition("G2", [PolicySender.AnySender], PolicyProtocol.Udp, null, PolicyVerdict.Deny), 11);
    private static readonly AccessPolicy ToTop = new(3, new PolicyDefinition("Top", [PolicySender.OfGroup("G1", negated: true)], PolicyProtocol.Any, null, PolicyVerdict.Allow), 12);

    private static StoreSnapshot Snapshot() => new(
        20,
        [Group("G1", 1), Group("G2", 2), Group("G3", 3), Group("G4", 4), Group("Top", 5)],
        [
            new Application("G3", "d", IPAddress.Parse("10.3.0.1"), "vm3", [], 3),
            new Application("G2", "b", IPAddress.Parse("10.2.0.1"), "vm2", [], 3),
            new Application("G4", "s", IPAddress.Parse("10.4.0.1"), "vm4", [], 3),
        ],
        [new DomainRecord("vm2", null, "h", null, 1), new DomainRecord("vm3", null, "h", null, 1), new DomainRecord("vm4", null, "h", null, 1)],
        [],
        new Dictionary<string, IReadOnlyList<GroupCredential>>())
    {
        Policies = [ToG3, ToG2, ToTop],
        // G3 under Top; G4 under G2 (so a G4 sender counts as G2 for ToG3).
        GroupParents = [new GroupParent("G3", "Top", 13), new GroupParent("G4", "G2", 14)],
    };

    [Fact]
    public void Build_G3Domain_CarriesOwnAndInheritedPolicies_AndSenderSubGroups()
    {
        var document = DomainConfigBuilder.Build(Snapshot(), "vm3", includeSecrets: false);

        Assert.Equal([1L, 3L], document.Policies.Select(p => p.Id));
        Assert.Equal(["group:G2"], document.Policies[0].From);
        Assert.Equal(["not:group:G1"], document.Policies[1].From);
        Assert.Equal([new GroupParentConfig("G3", "Top"), new GroupParentConfig("G4", "G2")], document.GroupParents);
        Assert.Equal(new PolicyDefaultsConfig("deny", "allow"), document.PolicyDefaults);
        Assert.Equal(14, document.Version);
        Assert.True(DomainConfigDigest.IsValid(document));
    }

    [Fact]
    public void Build_G2Domain_DoesNotSeeG3Policies()
    {
        var document = DomainConfigBuilder.Build(Snapshot(), "vm2", includeSecrets: false);
        Assert.Equal([2L], document.Policies.Select(p => p.Id));
        Assert.Empty(document.GroupParents);
    }

    [Fact]
    public void Compile_FromDocumentJson_DecidesAsTheDaemon()
    {
        var snapshot = Snapshot();
        var document = DomainConfigBuilder.Build(snapshot, "vm3", includeSecrets: false, new PolicyDefaults(PolicyVerdict.Deny, PolicyVerdict.Deny));
        var json = JsonSerializer.Serialize(document, OverlayJsonContext.Default.DomainConfigDocument);
        var parsed = JsonSerializer.Deserialize(json, OverlayJsonContext.Default.DomainConfigDocument)!;

        var agent = PolicyConfigConversion.Compile(parsed);
        var daemon = PolicySet.Compile(snapshot, new PolicyDefaults(PolicyVerdict.Deny, PolicyVerdict.Deny));
        var flows = new[]
        {
            ("G4", "s", "10.4.0.1", IpProtocolNumbers.Tcp, (ushort)80),
            ("G2", "b", "10.2.0.1", IpProtocolNumbers.Tcp, (ushort)80),
            ("G2", "b", "10.2.0.1", IpProtocolNumbers.Udp, (ushort)80),
            ("G1", "a", "10.1.0.1", IpProtocolNumbers.Tcp, (ushort)443),
            ("G3", "x", "10.3.0.2", IpProtocolNumbers.Tcp, (ushort)22),
        };
        foreach (var (group, app, address, protocol, port) in flows)
        {
            var expected = daemon.Evaluate(daemon.Endpoint(group, app, IPAddress.Parse(address)), daemon.Endpoint("G3", "d", IPAddress.Parse("10.3.0.1")), protocol, port);
            var actual = agent.Evaluate(agent.Endpoint(group, app, IPAddress.Parse(address)), agent.Endpoint("G3", "d", IPAddress.Parse("10.3.0.1")), protocol, port);
            Assert.Equal((expected.Verdict, expected.Basis, expected.PolicyId), (actual.Verdict, actual.Basis, actual.PolicyId));
        }

        Assert.Equal(1, agent.Evaluate(agent.Endpoint("G4", "s", IPAddress.Parse("10.4.0.1")), agent.Endpoint("G3", "d", IPAddress.Parse("10.3.0.1")), IpProtocolNumbers.Tcp, 80).PolicyId);
        // Top's "everyone but G1" reaches G3's members through the nesting, before any default.
        Assert.Equal(3, agent.Evaluate(agent.Endpoint("G3", "x", IPAddress.Parse("10.3.0.2")), agent.Endpoint("G3", "d", IPAddress.Parse("10.3.0.1")), IpProtocolNumbers.Tcp, 22).PolicyId);
        Assert.Equal(DecisionBasis.DefaultBetweenGroups, agent.Evaluate(agent.Endpoint("G1", "a", IPAddress.Parse("10.1.0.1")), agent.Endpoint("G3", "d", IPAddress.Parse("10.3.0.1")), IpProtocolNumbers.Tcp, 22).Basis);
    }

    [Fact]
    public void FromConfig_TamperedPolicy_RefusedNamingIt()
    {
        var bad = new PolicyConfig(9, "G3", ["group:G2"], "icmp", "80", "allow", 1);
        var e = Assert.Throws<ModelValidationException>(() => PolicyConfigConversion.FromConfig(bad));
        Assert.Contains("ports", e.Field);
        Assert.Throws<ModelValidationException>(() => PolicyConfigConversion.FromConfig(bad with { Protocol = "tcp", From = ["not:any"] }));
    }

    private static ApplicationGroup Group(string name, int number) =>
        new(name, IPNetwork.Parse($"10.{number}.0.0/16"), ProtectionLevel.Sealed, 2) { Number = number };
}
