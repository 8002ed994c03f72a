using System.Net;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;

namespace OverlayKvm.GuestAgent.Config;

/// <summary>
/// One configuration version compiled for the datapath: lookups by 32-bit ids and big-endian IPv4 addresses, so
/// a packet needs no strings, no parsing and no allocation. Immutable once published; the datapath reads the
/// current snapshot once per packet (<see cref="AgentState.Current"/>).
/// </summary>
internal sealed class AgentSnapshot
{
    public required DomainConfigDocument Document { get; init; }

    public required uint SenderIndex { get; init; }

    public required IReadOnlyDictionary<uint, GroupRuntime> GroupsById { get; init; }

    public required IReadOnlyDictionary<string, GroupRuntime> GroupsByName { get; init; }

    /// <summary>Groups related by policy to ours (send-only from here: we hold derived keys, no adapter).</summary>
    public IReadOnlyDictionary<uint, GroupRuntime> Neighbors { get; init; } = new Dictionary<uint, GroupRuntime>();

    /// <summary>Every overlay address this VM may exchange packets with, ours and our neighbors' (seed 002's directory).</summary>
    public IReadOnlyDictionary<uint, DirectoryRoute> Directory { get; init; } = new Dictionary<uint, DirectoryRoute>();

    /// <summary>Every other VM named by the document, by sender index.</summary>
    public IReadOnlyDictionary<uint, PeerVm> PeersByIndex { get; init; } = new Dictionary<uint, PeerVm>();

    /// <summary>The policies this VM is the authority for (its groups') and the endpoints to evaluate them.</summary>
    public PolicyRuntime Policy { get; init; } = PolicyRuntime.Empty;

    public long Version => Document.Version;
}

/// <summary>A group as the datapath needs it.</summary>
internal sealed class GroupRuntime
{
    public required string Name { get; init; }

    public required uint Id { get; init; }

    /// <summary>True for a group related by policy that this VM is not a member of.</summary>
    public bool IsNeighbor { get; init; }

    /// <summary>The AEAD of the group's frames (issue 16): frames are sealed with it, and frames of another are dropped as `cipher`.</summary>
    public GroupCipher Cipher { get; init; }

    public required GroupCounters Counters { get; init; }

    /// <summary>Group members by overlay address (Table 2).</summary>
    public required Dictionary<uint, MemberRoute> Members { get; init; }

    /// <summary>Other VMs of the group by sender index (the header's sender field).</summary>
    public required Dictionary<uint, PeerVm> Peers { get; init; }

    /// <summary>Receive keys by (epoch, sender index).</summary>
    public required Dictionary<(uint Epoch, uint Sender), ReceiveKey> ReceiveKeys { get; init; }

    /// <summary>The key this VM seals with: the group's newest epoch. Null when the document carries no key.</summary>
    public required SendKey? SendKey { get; init; }

    /// <summary>Apps of this group configured for this VM.</summary>
    public required IReadOnlyList<LocalAppConfig> LocalApps { get; init; }
}

/// <summary>An overlay address: the group it belongs to and where it runs.</summary>
internal sealed record DirectoryRoute(GroupRuntime Group, MemberRoute Member);

/// <summary>
/// Where a member app runs and how packets reach it: <see cref="Plan"/> (and, for the engine, <see cref="Fallback"/>)
/// compiled from the route the directory put in the document. <see cref="Peer"/> is null for apps of this VM.
/// </summary>
internal sealed record MemberRoute(string App, uint Address, PeerVm? Peer, RoutePlan Plan, RoutePlan Fallback = RoutePlan.Drop)
{
    public bool IsLocal => Peer is null;

    /// <summary>
    /// The plan for a packet from another of this VM's groups: never the engine (its region is per group), so the
    /// fallback, which is the network path the classifier chose for the pair of VMs.
    /// </summary>
    public RoutePlan CrossGroupPlan => Plan == RoutePlan.Engine ? Fallback : Plan;
}

/// <summary>Another VM of a group: its sender index, underlay address and the socket address frames go to.</summary>
internal sealed class PeerVm
{
    public required string Domain { get; init; }

    public required uint SenderIndex { get; init; }

    /// <summary>Underlay IPv4 address, big-endian; the outer source of every frame this VM sends.</summary>
    public required uint UnderlayAddress { get; init; }

    public required IPEndPoint Endpoint { get; init; }

    public required System.Net.SocketAddress SocketAddress { get; init; }

    /// <summary>Bytes exchanged with this VM by path (kept across configuration versions by domain name).</summary>
    public required PeerCounters Counters { get; init; }

    /// <summary>
    /// True when the document routes to this VM in clear (trusted segment, seed 002 R12–R14): only then are its clear
    /// frames accepted. Set while the snapshot is compiled, before it is published.
    /// </summary>
    public bool AcceptsClear { get; set; }

    /// <summary>TransmissionManager.NowMs of the last "not permitted" notice for data of this VM that no cached rule covered (rate limit).</summary>
    public long LastNoticeMs;
}

/// <summary>
/// Opens frames of one sender in one epoch. Carries the replay windows, so it is reused (not rebuilt) when a new
/// configuration keeps the same key. Used only by the UDP receive worker.
/// </summary>
internal sealed class ReceiveKey
{
    public required uint Epoch { get; init; }

    /// <summary>The sender's streams (one per stream salt it started with) with their ciphers and replay windows.</summary>
    public required SenderStreams Streams { get; init; }

    /// <summary>UTC ticks after which the epoch is no longer accepted; long.MaxValue while current.</summary>
    public required long RetiresAtTicks { get; init; }

    public required byte[] KeyFingerprint { get; init; }
}

/// <summary>Seals this VM's frames for one group. Used only by that group's TUN worker.</summary>
internal sealed class SendKey
{
    public required uint Epoch { get; init; }

    /// <summary>This agent's stream salt (header offset 16; in the stream key's derivation).</summary>
    public required ulong Salt { get; init; }

    public required FrameCipher Cipher { get; init; }

    /// <summary>
    /// A second cipher with the same key for senders other than the TUN worker (negotiation messages, packets
    /// released from the negotiation queue); use only under <see cref="SharedLock"/>. The counter is shared,
    /// so nonces stay unique across both.
    /// </summary>
    public required FrameCipher SharedCipher { get; init; }

    public Lock SharedLock { get; } = new();

    public required FrameCounter Counter { get; init; }

    public required byte[] KeyFingerprint { get; init; }
}
