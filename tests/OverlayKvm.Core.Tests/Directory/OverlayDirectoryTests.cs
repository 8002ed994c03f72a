using System.Net;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.DirectoryService;

/// <summary>
/// Directory lookups over a hand-made snapshot: two hosts, three VMs, apps of G2 and G3 placed so that every
/// path class occurs (seed 002 R1, R2, R4, R12, R19).
/// </summary>
public sealed class OverlayDirectoryTests
{
    /// <summary>The directory of <see cref="Snapshot"/> with <see cref="Http"/>, the standard defaults and table, and these trusted segments.</summary>
    private static OverlayDirectory BuildDirectory(params string[] trustedSegments)
    {
        var segments = new List<IPNetwork>();
        foreach (var segment in trustedSegments)
        {
            segments.Add(IPNetwork.Parse(segment));
        }

        return OverlayDirectory.Build(Snapshot(Http), PolicyDefaults.Standard, TransformationTable.Standard, segments);
    }

    private static DirectoryEntry Find(OverlayDirectory directory, string group, string app)
    {
        Assert.True(directory.TryFind(group, app, out var entry), $"{group}/{app} is in the directory");
        return entry;
    }

    private static StoreSnapshot Snapshot(params AccessPolicy[] policies) => new(
        42,
        [Group("G2", "10.2.0.0/16", 1), Group("G3", "10.3.0.0/16", 2)],
        [
            App("G2", "b", "10.2.0.5", "vm1"),
            App("G3", "local", "10.3.0.9", "vm1"),
            App("G3", "engine", "10.3.0.7", "vm2"),
            App("G3", "far", "10.3.0.6", "vm3"),
        ],
        [
            new DomainRecord("vm1", null, "h1", IPAddress.Parse("192.168.10.1"), 1),
            new DomainRecord("vm2", null, "h1", IPAddress.Parse("192.168.10.2"), 1),
            new DomainRecord("vm3", null, "h2", IPAddress.Parse("192.168.20.3"), 1),
        ],
        [new HostRecord("h1", IPAddress.Parse("192.0.2.11"), 8, 1), new HostRecord("h2", IPAddress.Parse("192.0.2.12"), 8, 1)],
        new Dictionary<string, IReadOnlyList<GroupCredential>>())
    {
        Policies = policies,
    };

    private static readonly AccessPolicy Http = new(5, new PolicyDefinition("G3", [PolicySender.OfGroup("G2")], PolicyProtocol.Tcp, new PortRange(80, 80), PolicyVerdict.Allow), 40);

    [Fact]
    public void Lookup_EachPathClass_OrderedActionsAndForwardingPath()
    {
        var directory = BuildDirectory();
        Assert.True(directory.TryFind(IPAddress.Parse("10.2.0.5"), out var b));

        var cases = new (string Address, PathClass Path, TransformAction[] Actions, string[] Hops)[]
        {
            ("10.3.0.9", PathClass.SameVm, [TransformAction.Local], []),
            // Same host, other group: the engine's region is per group, so the groups meet sealed.
            ("10.3.0.7", PathClass.Untrusted, [TransformAction.Encapsulate, TransformAction.Seal], ["192.168.10.1", "192.168.10.2"]),
            ("10.3.0.6", PathClass.Untrusted, [TransformAction.Encapsulate, TransformAction.Seal], ["192.168.10.1", "192.168.20.3"]),
        };
        foreach (var (address, path, actions, hops) in cases)
        {
            Assert.True(directory.TryFind(IPAddress.Parse(address), out var destination));
            var lookup = directory.Lookup(b, destination, IpProtocolNumbers.Tcp, 80);
            Assert.Equal(path, lookup.Path);
            Assert.Equal(actions, lookup.Actions);
            Assert.Equal(hops, lookup.ForwardingPath);
            Assert.Equal((PolicyVerdict.Allow, 5L), (lookup.Decision.Verdict, lookup.Decision.PolicyId));
            Assert.Equal(42, lookup.DirectoryVersion);
        }
    }

    [Fact]
    public void Lookup_SameHostSameGroup_IsTheEnginePath()
    {
        var directory = BuildDirectory();
        var local = Find(directory, "G3", "local");
        var engine = Find(directory, "G3", "engine");

        var lookup = directory.Lookup(local, engine, IpProtocolNumbers.Tcp, 80);

        Assert.Equal(PathClass.SameHost, lookup.Path);
        Assert.Equal([TransformAction.Engine], lookup.Actions);
        Assert.Equal(DecisionBasis.DefaultWithinGroup, lookup.Decision.Basis);
    }

    [Fact]
    public void Lookup_SameHostWithTheGroupsEngineOff_TakesTheSealedPathsActions()
    {
        var directory = BuildDirectory();
        var local = Find(directory, "G3", "local");
        var engine = Find(directory, "G3", "engine");

        var off = directory.Lookup(local, engine, IpProtocolNumbers.Tcp, 80, group => group != "G3");
        var on = directory.Lookup(local, engine, IpProtocolNumbers.Tcp, 80, _ => true);

        Assert.Equal(PathClass.SameHost, off.Path);
        Assert.Equal([TransformAction.Encapsulate, TransformAction.Seal], off.Actions);
        Assert.Equal([TransformAction.Engine], on.Actions);
    }

    [Fact]
    public void Lookup_SameVm_DeliveredLocallyWhateverTheVerdict_NotEnforced()
    {
        var directory = BuildDirectory();
        var b = Find(directory, "G2", "b");
        var local = Find(directory, "G3", "local");

        var ssh = directory.Lookup(b, local, IpProtocolNumbers.Tcp, 22);

        Assert.Equal(PolicyVerdict.Deny, ssh.Decision.Verdict);
        Assert.Equal([TransformAction.Local], ssh.Actions);
        Assert.False(ssh.Enforced);
        Assert.True(directory.Lookup(b, local, IpProtocolNumbers.Tcp, 80).Decision.IsAllowed);
    }

    [Fact]
    public void Lookup_Denied_ActionsAreDropOnly_PathStillReported()
    {
        var directory = BuildDirectory();
        var b = Find(directory, "G2", "b");
        var far = Find(directory, "G3", "far");

        var ssh = directory.Lookup(b, far, IpProtocolNumbers.Tcp, 22);

        Assert.Equal(PolicyVerdict.Deny, ssh.Decision.Verdict);
        Assert.Equal(DecisionBasis.DefaultBetweenGroups, ssh.Decision.Basis);
        Assert.Equal([TransformAction.Drop], ssh.Actions);
        Assert.Equal(PathClass.Untrusted, ssh.Path);
    }

    [Fact]
    public void Classify_TrustedSegment_OnlyWhenBothVmsInsideOneSegment()
    {
        var trusted = BuildDirectory("192.168.0.0/16");
        var b = Find(trusted, "G2", "b");
        var far = Find(trusted, "G3", "far");
        var lookup = trusted.Lookup(b, far, IpProtocolNumbers.Tcp, 80);
        Assert.Equal(PathClass.TrustedSegment, lookup.Path);
        Assert.Equal([TransformAction.Encapsulate], lookup.Actions);

        var split = BuildDirectory("192.168.10.0/24", "192.168.20.0/24");
        b = Find(split, "G2", "b");
        far = Find(split, "G3", "far");
        Assert.Equal(PathClass.Untrusted, split.Classify(b, far));
    }

    [Fact]
    public void TryFind_UnknownAddressOrName_NotFound_MappedSpellingFound()
    {
        var directory = OverlayDirectory.Build(Snapshot(), PolicyDefaults.Standard, TransformationTable.Standard, []);
        Assert.False(directory.TryFind(IPAddress.Parse("10.2.0.99"), out _));
        Assert.False(directory.TryFind("G2", "nosuch", out _));
        Assert.True(directory.TryFind(IPAddress.Parse("::ffff:10.2.0.5"), out var mapped));
        Assert.Equal(("G2", "b", "vm1", "h1"), (mapped.Group, mapped.App, mapped.Domain, mapped.Host));
        Assert.Equal(IPAddress.Parse("192.0.2.11"), mapped.HostAddress);
        Assert.Equal(4, directory.Count);
    }

    [Fact]
    public void IsHostedAt_OnlyTheHostingVmsAddress()
    {
        var directory = OverlayDirectory.Build(Snapshot(), PolicyDefaults.Standard, TransformationTable.Standard, []);
        Assert.True(directory.IsHostedAt(IPAddress.Parse("10.2.0.5"), IPAddress.Parse("192.168.10.1")));
        Assert.True(directory.IsHostedAt(IPAddress.Parse("10.2.0.5"), IPAddress.Parse("::ffff:192.168.10.1")));
        // Same host, other VM: still a forgery of b's address.
        Assert.False(directory.IsHostedAt(IPAddress.Parse("10.2.0.5"), IPAddress.Parse("192.168.10.2")));
        Assert.False(directory.IsHostedAt(IPAddress.Parse("10.2.0.5"), IPAddress.Parse("192.0.2.11")));
        Assert.False(directory.IsHostedAt(IPAddress.Parse("10.2.0.99"), IPAddress.Parse("192.168.10.1")));
    }

    [Fact]
    public void TransformationTable_MissingPathClass_Refused() =>
        Assert.Throws<ArgumentException>(() => new TransformationTable(new Dictionary<PathClass, TransformAction[]> { [PathClass.SameVm] = [TransformAction.Local] }));

    private static ApplicationGroup Group(string name, string cidr, int number) =>
        new(name, IPNetwork.Parse(cidr), ProtectionLevel.Sealed, 1) { Number = number };

    private static Application App(string group, string name, string address, string domain) =>
        new(group, name, IPAddress.Parse(address), domain, [], 1);
}
