using System.Net;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.DirectoryService;

/// <summary>
/// Issue 12 "one classifier": the routes in every configuration document (what agents execute) are the directory's
/// lookups (what route-explain shows), member by member, for every path class, with the same classifier.
/// </summary>
public sealed class OnePathModelTests
{
    // vm1, vm2 on h1; vm3, vm4 on h2. Trusted segment 192.168.10.0/24 holds vm1, vm2 and vm4, not vm3.
    private static readonly PathClassifier Paths = new([IPNetwork.Parse("192.168.10.0/24")], TransformationTable.Standard);

    private static StoreSnapshot Snapshot() => new(
        50,
        [Group("G2", "10.2.0.0/16", 1, ProtectionLevel.Sealed), Group("G3", "10.3.0.0/16", 2, ProtectionLevel.Sealed), Group("G4", "10.4.0.0/16", 3, ProtectionLevel.Authenticated)],
        [
            App("G2", "b", "10.2.0.5", "vm1"),
            App("G3", "local", "10.3.0.9", "vm1"),
            App("G3", "engine", "10.3.0.7", "vm2"),
            App("G3", "far", "10.3.0.6", "vm3"),
            App("G3", "near", "10.3.0.8", "vm4"),
            App("G4", "x", "10.4.0.1", "vm1"),
            App("G4", "y", "10.4.0.2", "vm3"),
            App("G4", "z", "10.4.0.3", "vm4"),
        ],
        [
            new DomainRecord("vm1", null, "h1", IPAddress.Parse("192.168.10.1"), 1),
            new DomainRecord("vm2", null, "h1", IPAddress.Parse("192.168.10.2"), 1),
            new DomainRecord("vm3", null, "h2", IPAddress.Parse("192.168.20.3"), 1),
            new DomainRecord("vm4", null, "h2", IPAddress.Parse("192.168.10.4"), 1),
        ],
        [new HostRecord("h1", IPAddress.Parse("192.0.2.11"), 8, 1), new HostRecord("h2", IPAddress.Parse("192.0.2.12"), 8, 1)],
        new Dictionary<string, IReadOnlyList<GroupCredential>>())
    {
        Policies = [new AccessPolicy(5, new PolicyDefinition("G3", [PolicySender.OfGroup("G2")], PolicyProtocol.Tcp, new PortRange(80, 80), PolicyVerdict.Allow), 40)],
    };

    [Fact]
    public void DocumentRoutes_AreTheDirectorysLookups_ForEveryMemberOfEveryDomain()
    {
        var snapshot = Snapshot();
        var directory = OverlayDirectory.Build(snapshot, PolicyDefaults.Standard, Paths, null);
        var seen = new HashSet<string>();
        foreach (var domain in snapshot.Domains)
        {
            var document = DomainConfigBuilder.Build(snapshot, domain.Name, includeSecrets: false, PolicyDefaults.Standard, null, Paths);
            var routes = new List<(string SendingGroup, string Group, MemberConfig Member)>();
            foreach (var g in document.Groups) routes.AddRange(g.Members.Select(m => (g.Name, g.Name, m)));
            foreach (var n in document.Neighbors) routes.AddRange(n.Members.Select(m => (n.RelatedTo[0], n.Name, m)));
            foreach (var (sendingGroup, group, member) in routes)
            {
                var source = directory.Entries().First(e => e.Domain == domain.Name && e.Group == sendingGroup);
                Assert.True(directory.TryFind(group, member.Name, out var destination));
                var decision = directory.Decide(source, destination);
                Assert.Equal(PathClasses.Name(decision.Path), member.Path);
                Assert.Equal(TransformActions.Names(decision.Actions), member.Actions);
                Assert.Equal(TransformActions.Names(decision.Fallback), member.Fallback);
                // What route-explain prints for an allowed flow is exactly what the agent carries out (engine on or off).
                var on = directory.Lookup(source, destination, IpProtocolNumbers.Tcp, 80, _ => true);
                var off = directory.Lookup(source, destination, IpProtocolNumbers.Tcp, 80, _ => false);
                if (on.Decision.IsAllowed)
                {
                    Assert.Equal(PathClasses.Name(on.Path), member.Path);
                    Assert.Equal(TransformActions.Names(on.Actions), member.Actions);
                    Assert.Equal(TransformActions.Names(off.Actions), on.Path == PathClass.SameHost ? member.Fallback : member.Actions);
                }
                else
                {
                    Assert.Equal([TransformAction.Drop], on.Actions);
                }
                seen.Add($"{member.Path}:{string.Join('+', member.Actions)}{(member.Fallback.Count > 0 ? "/" + string.Join('+', member.Fallback) : "")}");
            }
        }

        // Every class occurred, and protection "authenticated" replaced seal on the network paths.
        Assert.Contains("same-vm:local", seen);
        Assert.Contains("same-host:engine/encapsulate", seen);
        Assert.Contains("trusted-segment:encapsulate", seen);
        Assert.Contains("untrusted:encapsulate+seal", seen);
        Assert.Contains("untrusted:encapsulate+authenticate", seen);
    }

    [Fact]
    public void Decide_ReasonNamesTheSegment_SameHostFallbackIsTheNetworkPath_IntegrityTableTags()
    {
        var directory = OverlayDirectory.Build(Snapshot(), PolicyDefaults.Standard, Paths, null);
        Assert.True(directory.TryFind("G3", "local", out var local));
        Assert.True(directory.TryFind("G3", "engine", out var engine));
        Assert.True(directory.TryFind("G3", "near", out var near));
        Assert.True(directory.TryFind("G3", "far", out var far));

        var trusted = directory.Decide(local, near);
        Assert.Equal(PathClass.TrustedSegment, trusted.Path);
        Assert.Contains("trusted segment 192.168.10.0/24", trusted.Reason);
        var sameHost = directory.Decide(local, engine);
        Assert.Equal([TransformAction.Engine], sameHost.Actions);
        Assert.Equal([TransformAction.Encapsulate], sameHost.Fallback);
        Assert.Contains("no trusted segment holds both", directory.Decide(local, far).Reason);
        Assert.Equal("trusted segment: vm1 (192.168.10.1) and vm4 (192.168.10.4) are inside trusted segment 192.168.10.0/24",
            "trusted segment: " + directory.Lookup(local, near, IpProtocolNumbers.Tcp, 80).PathReason);

        var tagged = new PathClassifier([IPNetwork.Parse("192.168.10.0/24")], TransformationTable.StandardWithTrustedIntegrity);
        Assert.Equal([TransformAction.Encapsulate, TransformAction.Authenticate], tagged.Decide(local, near, ProtectionLevel.Sealed).Actions);
        Assert.Equal([TransformAction.Encapsulate, TransformAction.Seal], tagged.Decide(local, far, ProtectionLevel.Sealed).Actions);
    }

    [Fact]
    public void ActionNames_RoundTripEveryValue()
    {
        foreach (var action in Enum.GetValues<TransformAction>())
        {
            Assert.True(TransformActions.TryParse(TransformActions.Name(action), out var back));
            Assert.Equal(action, back);
        }
        foreach (var path in Enum.GetValues<PathClass>())
        {
            Assert.True(PathClasses.TryParse(PathClasses.Name(path), out var back));
            Assert.Equal(path, back);
        }
        Assert.False(TransformActions.TryParse("ipsec", out _));
    }

    private static ApplicationGroup Group(string name, string cidr, int number, ProtectionLevel protection) =>
        new(name, IPNetwork.Parse(cidr), protection, 1) { Number = number };

    private static Application App(string group, string name, string address, string domain) =>
        new(group, name, IPAddress.Parse(address), domain, [], 1);
}
