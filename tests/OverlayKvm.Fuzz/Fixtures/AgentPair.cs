using OverlayKvm.Core.Config;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.TestSupport.Agent;
using OverlayKvm.TestSupport.Doubles;

namespace OverlayKvm.Fuzz.Fixtures;

/// <summary>
/// Two guest agents' datapaths with their real snapshot compiler, receive path, transmission manager and sealing:
/// vmA (underlay 192.0.2.1, apps 10.1.0.1 in group web and 10.2.0.1 in group ops) and vmB (192.0.2.2, apps 10.1.0.2
/// and 10.2.0.2). web is sealed, ops authenticated. Targets play vmA (or a forger at vmA's address) against vmB.
/// The group keys are fixed so a committed corpus file means the same frame on every run.
/// </summary>
internal sealed class AgentPair
{
    public const uint VmAUnderlay = 0xC0000201;
    private const int OverlayPort = 7480;
    private static readonly byte[] WebKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] OpsKey = Enumerable.Range(101, 32).Select(i => (byte)i).ToArray();

    public AgentPair()
    {
        // Both agents as AddGuestAgent builds them, with capturing underlays and a clock that never moves.
        var time = new FixedTime();
        A = new AgentDatapath(UnderlayA, time);
        B = new AgentDatapath(UnderlayB, time);
        A.Publish(Document("vmA"));
        B.Publish(Document("vmB"));
        AdaptersB.Set(OverlayIds.GroupId("web"), SinkB);
        AdaptersB.Set(OverlayIds.GroupId("ops"), SinkB);
    }

    public AgentDatapath A { get; }

    public AgentDatapath B { get; }

    public AgentState StateA => A.State;

    public AgentState StateB => B.State;

    public DatapathCounters CountersA => A.Counters;

    public DatapathCounters CountersB => B.Counters;

    // Initialised before the constructor body: the datapaths are built around them.
    public CapturingSender UnderlayA { get; } = new();

    public CapturingSender UnderlayB { get; } = new();

    public AdapterTable AdaptersB => B.Adapters;

    public DiscardingSink SinkB { get; } = new();

    /// <summary>vmA's sealing of control and data frames (the send side production uses).</summary>
    public SharedFrameSender SenderA => A.Sealing;

    public TransmissionManager TransmissionB => B.Transmission;

    public ReceivePath ReceiveB => B.Receive;

    /// <summary>vmA's runtime of a group and its view of vmB, to seal as vmA would.</summary>
    public (AgentSnapshot Snapshot, GroupRuntime Group, PeerVm PeerB) SenderView(string group)
    {
        AgentSnapshot snapshot = StateA.Current!;
        GroupRuntime runtime = snapshot.GroupsByName[group];
        return (snapshot, runtime, runtime.Peers[OverlayIds.SenderIndex("vmB")]);
    }

    /// <summary>vmB's runtime of a group and its view of vmA, as the receive path hands them to the transmission manager.</summary>
    public (AgentSnapshot Snapshot, GroupRuntime Group, PeerVm PeerA) ReceiverView(string group)
    {
        AgentSnapshot snapshot = StateB.Current!;
        GroupRuntime runtime = snapshot.GroupsByName[group];
        return (snapshot, runtime, runtime.Peers[OverlayIds.SenderIndex("vmA")]);
    }

    /// <summary>Seals plaintext as vmA would send it to vmB in group; returns the frame (valid until the next seal).</summary>
    public ReadOnlySpan<byte> SealFromA(string group, FrameType type, ReadOnlySpan<byte> plaintext)
    {
        var (snapshot, runtime, peerB) = SenderView(group);
        return SenderA.TrySend(snapshot, runtime, type, plaintext, peerB) ? UnderlayA.Last : ReadOnlySpan<byte>.Empty;
    }

    private static DomainConfigDocument Document(string self)
    {
        var apps = self == "vmA"
            ? new List<LocalAppConfig> { App("web", "a", "10.1.0.1", 101, "10.1.0.0/16"), App("ops", "oa", "10.2.0.1", 102, "10.2.0.0/16") }
            : [App("web", "b", "10.1.0.2", 101, "10.1.0.0/16"), App("ops", "ob", "10.2.0.2", 102, "10.2.0.0/16")];
        return new DomainConfigDocument(DomainConfigDocument.CurrentFormat, self, 1, "", self == "vmA" ? "192.0.2.1" : "192.0.2.2", "h", apps,
        [
            Group(self, "web", "10.1.0.0/16", "Sealed", WebKey, ("a", "10.1.0.1", "vmA", "192.0.2.1"), ("b", "10.1.0.2", "vmB", "192.0.2.2")),
            Group(self, "ops", "10.2.0.0/16", "Authenticated", OpsKey, ("oa", "10.2.0.1", "vmA", "192.0.2.1"), ("ob", "10.2.0.2", "vmB", "192.0.2.2")),
        ]);
    }

    // Routes from the directory's classifier, as overlayd writes them (one host: the engine, else the group's network path).
    private static GroupConfig Group(string self, string name, string cidr, string protection, byte[] key, params (string App, string Address, string Domain, string Underlay)[] members) =>
        new(name, cidr, protection,
            members.Select(m => MemberRouting.Route(new MemberConfig(m.App, m.Address, m.Domain, m.Underlay, "h"), name, Enum.Parse<ProtectionLevel>(protection),
                MemberRouting.From(self, "h", System.Net.IPAddress.Parse(self == "vmA" ? "192.0.2.1" : "192.0.2.2"), null, name), PathClassifier.Standard)).ToList(),
            [new CredentialConfig(1, key.ToArray(), null)]);

    private static LocalAppConfig App(string group, string name, string address, int table, string space) =>
        new(group, name, address, table, [new RouteEntry(space, "adapter", 100)], []);
}
