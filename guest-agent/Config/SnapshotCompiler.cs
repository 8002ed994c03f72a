using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;

namespace OverlayKvm.GuestAgent.Config;

/// <summary>
/// Validates a <see cref="DomainConfigDocument"/> and compiles it into an <see cref="AgentSnapshot"/>. Every
/// problem is collected with its path ("groups[1].credentials[0].key: …") before refusing, so the operator sees
/// them all at once. Keys and replay windows of the previous snapshot are carried over when unchanged, so a new
/// version never reopens a replay window or resets a send counter.
/// </summary>
internal sealed class SnapshotCompiler
{
    private readonly DatapathCounters _counters;
    private readonly TimeProvider _time;
    private readonly int _overlayPort;

    /// <summary>
    /// This agent's stream salt (issue 14 item 4): drawn once per start and carried in every frame header, so an
    /// agent restored from a saved state — same key epoch, same counters — still seals with keys never used before.
    /// </summary>
    private readonly ulong _streamSalt = FrameKeySchedule.NewStreamSalt();

    /// <summary>Key material decoded during one <see cref="Compile"/>, zeroed when it returns (also its lock).</summary>
    private readonly List<byte[]> _decodedKeys = [];

    public SnapshotCompiler(DatapathCounters counters, TimeProvider time, int overlayPort)
    {
        _counters = counters;
        _time = time;
        _overlayPort = overlayPort;
    }

    public AgentSnapshot Compile(DomainConfigDocument doc, AgentSnapshot? previous)
    {
        lock (_decodedKeys)
        {
            try
            {
                return CompileLocked(doc, previous);
            }
            finally
            {
                // Issue 14 item 10: the decoded group keys are needed only to derive the ciphers; do not leave them
                // in the managed heap until a GC happens to reuse the memory.
                foreach (byte[] key in _decodedKeys)
                {
                    CryptographicOperations.ZeroMemory(key);
                }
                _decodedKeys.Clear();
            }
        }
    }

    private AgentSnapshot CompileLocked(DomainConfigDocument doc, AgentSnapshot? previous)
    {
        var errors = new List<string>();
        if (doc.FormatVersion < DomainConfigDocument.OldestFormat || doc.FormatVersion > DomainConfigDocument.CurrentFormat)
        {
            // Nothing else of another format is read: its fields may mean something else (format 1 had no routes).
            // Format 3 differs from 2 only by group ciphers (absent in 2 = ChaCha20-Poly1305), so both are read.
            errors.Add($"formatVersion: {doc.FormatVersion} is not supported (this agent reads {DomainConfigDocument.OldestFormat} to {DomainConfigDocument.CurrentFormat}; "
                + (doc.FormatVersion < DomainConfigDocument.OldestFormat ? "overlayd is older than this agent: upgrade overlayd)" : "this agent is older than overlayd: upgrade the agent)"));
            throw new ConfigCompileException(errors);
        }
        if (string.IsNullOrEmpty(doc.Domain))
        {
            errors.Add("domain: empty");
        }
        if (doc.Apps is null || doc.Groups is null)
        {
            errors.Add("apps/groups: missing");
            throw new ConfigCompileException(errors);
        }
        string self = doc.Domain ?? "";
        uint selfIndex = OverlayIds.SenderIndex(self);
        var byId = new Dictionary<uint, GroupRuntime>();
        var byName = new Dictionary<string, GroupRuntime>(StringComparer.Ordinal);
        // One PeerVm per other VM across all groups: the receive path compares them by reference.
        var peerPool = new Dictionary<uint, PeerVm>();
        var neighbors = new Dictionary<uint, GroupRuntime>();
        var neighborPeers = new Dictionary<string, List<PeerVm>>(StringComparer.Ordinal);
        var neighborDocs = doc.Neighbors ?? [];
        for (int n = 0; n < neighborDocs.Count; n++)
        {
            var runtime = CompileNeighbor(neighborDocs[n], $"neighbors[{n}]", self, selfIndex, previous, peerPool, neighborPeers, errors);
            if (runtime is not null && !neighbors.TryAdd(runtime.Id, runtime))
            {
                errors.Add($"neighbors[{n}].name: group id {runtime.Id:x8} of '{runtime.Name}' collides with another neighbor");
            }
        }

        for (int g = 0; g < doc.Groups.Count; g++)
        {
            GroupConfig? group = doc.Groups[g];
            string path = $"groups[{g}]";
            if (group is null || string.IsNullOrEmpty(group.Name) || group.Members is null || group.Credentials is null)
            {
                errors.Add($"{path}: missing name, members or credentials");
                continue;
            }
            uint id = OverlayIds.GroupId(group.Name);
            if (byId.TryGetValue(id, out var clash))
            {
                errors.Add($"{path}.name: group id {id:x8} of '{group.Name}' collides with group '{clash.Name}'");
                continue;
            }
            if (neighbors.ContainsKey(id))
            {
                errors.Add($"{path}.name: group '{group.Name}' is both one of this VM's groups and a neighbor");
                continue;
            }
            neighborPeers.TryGetValue(group.Name, out var related);
            var runtime = CompileGroup(doc, group, path, id, self, selfIndex, previous, peerPool, related, errors);
            if (runtime is not null)
            {
                byId.Add(id, runtime);
                byName.Add(group.Name, runtime);
            }
        }

        for (int a = 0; a < doc.Apps.Count; a++)
        {
            LocalAppConfig? app = doc.Apps[a];
            string path = $"apps[{a}]";
            if (app is null || app.Routes is null || string.IsNullOrEmpty(app.Name))
            {
                errors.Add($"{path}: missing name or routes");
                continue;
            }
            if (!byName.ContainsKey(app.Group))
            {
                errors.Add($"{path}.group: app '{app.Name}' names group '{app.Group}' that the document does not describe");
            }
            if (!TryParseIpv4(app.Address, out _))
            {
                errors.Add($"{path}.address: '{app.Address}' is not an IPv4 address");
            }
            if (app.RouteTable is < 1 or > 252 and < 256)
            {
                errors.Add($"{path}.routeTable: {app.RouteTable} is reserved or out of range (use 1..252 or 256..2^31-1)");
            }
        }

        if (errors.Count > 0)
        {
            throw new ConfigCompileException(errors);
        }
        var peerDomains = new HashSet<string>(peerPool.Count, StringComparer.Ordinal);
        foreach (PeerVm peer in peerPool.Values)
        {
            peerDomains.Add(peer.Domain);
        }
        _counters.RetainPeers(peerDomains);
        return new AgentSnapshot
        {
            Document = doc,
            SenderIndex = selfIndex,
            GroupsById = byId,
            GroupsByName = byName,
            Neighbors = neighbors,
            Directory = BuildDirectory(byId, neighbors),
            PeersByIndex = peerPool,
            Policy = PolicyRuntime.Compile(doc, byId, neighbors),
        };
    }

    private GroupRuntime? CompileGroup(DomainConfigDocument doc, GroupConfig group, string path, uint id, string self, uint selfIndex,
        AgentSnapshot? previous, Dictionary<uint, PeerVm> peerPool, List<PeerVm>? relatedPeers, List<string> errors)
    {
        int errorsBefore = errors.Count;
        GroupRuntime? old = null;
        previous?.GroupsById.TryGetValue(id, out old);

        var peers = new Dictionary<uint, PeerVm>();
        var members = new Dictionary<uint, MemberRoute>();
        CompileMembers(group.Members, path, neighbor: false, self, selfIndex, peerPool, peers, members, errors);

        // VMs of neighbor groups that policy relates to this group: they may send to it (keys derived for them).
        if (relatedPeers is not null)
        {
            foreach (var related in relatedPeers)
            {
                peers.TryAdd(related.SenderIndex, related);
            }
        }

        GroupCipher cipher = CompileCipher(group.Cipher, $"{path}.cipher", errors);
        var receiveKeys = new Dictionary<(uint, uint), ReceiveKey>();
        var keys = ReadKeys(group.Credentials, $"{path}.credentials", FrameKeySchedule.GroupKeySize, errors, out var newest);
        foreach (var (cred, key) in keys)
        {
            uint epoch = (uint)cred.Epoch;
            byte[] fingerprint = SHA256.HashData(key);
            long retires = cred.RetiresAt?.UtcTicks ?? long.MaxValue;
            foreach (var peer in peers.Values)
            {
                ReceiveKey? reuse = null;
                if (old is not null && old.ReceiveKeys.TryGetValue((epoch, peer.SenderIndex), out var prev) && prev.KeyFingerprint.AsSpan().SequenceEqual(fingerprint)
                    && prev.Streams.Cipher == cipher)
                {
                    reuse = prev;
                }
                receiveKeys[(epoch, peer.SenderIndex)] = reuse is not null && reuse.RetiresAtTicks == retires
                    ? reuse
                    : new ReceiveKey
                    {
                        Epoch = epoch,
                        Streams = reuse?.Streams ?? NewStreams(key, id, epoch, peer.SenderIndex, cipher),
                        RetiresAtTicks = retires,
                        KeyFingerprint = fingerprint,
                    };
            }
        }
        SendKey? sendKey = null;
        if (newest is (CredentialConfig newestCred, byte[] newestKey))
        {
            uint epoch = (uint)newestCred.Epoch;
            sendKey = SendKeyFor(old?.SendKey, epoch, newestKey, cipher, (key, salt) => FrameCipher.ForSender(key, id, epoch, selfIndex, salt, cipher));
        }

        var localApps = new List<LocalAppConfig>();
        foreach (var app in doc.Apps)
        {
            if (app is not null && string.Equals(app.Group, group.Name, StringComparison.Ordinal))
            {
                localApps.Add(app);
                if (TryParseIpv4(app.Address, out uint a) && !members.ContainsKey(a))
                {
                    members.Add(a, new MemberRoute(app.Name, a, null, RoutePlan.Local));
                }
            }
        }

        if (errors.Count > errorsBefore)
        {
            return null;
        }
        return new GroupRuntime
        {
            Name = group.Name,
            Id = id,
            Cipher = cipher,
            Counters = _counters.ForGroup(group.Name),
            Members = members,
            Peers = peers,
            ReceiveKeys = receiveKeys,
            SendKey = sendKey,
            LocalApps = localApps,
        };
    }

    /// <summary>
    /// The members of a group or of a neighbor group: each one's address, route plan and (on another VM) peer. A member
    /// that does not compile records why and is left out; a neighbor group's members must all run on other VMs.
    /// </summary>
    private void CompileMembers(IReadOnlyList<MemberConfig?> list, string path, bool neighbor, string self, uint selfIndex,
        Dictionary<uint, PeerVm> peerPool, Dictionary<uint, PeerVm> peers, Dictionary<uint, MemberRoute> members, List<string> errors)
    {
        for (int m = 0; m < list.Count; m++)
        {
            MemberConfig? member = list[m];
            string mpath = $"{path}.members[{m}]";
            if (member is null || !TryParseIpv4(member.Address, out uint address))
            {
                errors.Add($"{mpath}.address: '{member?.Address}' is not an IPv4 address");
                continue;
            }
            bool onThisVm = string.Equals(member.Domain, self, StringComparison.Ordinal);
            if (onThisVm && neighbor)
            {
                errors.Add($"{mpath}.domain: a neighbor group's member runs on this VM");
                continue;
            }
            if (!RoutePlans.TryCompile(member, mpath, onThisVm, errors, out RoutePlan plan, out RoutePlan fallback))
            {
                continue;
            }
            PeerVm? peer = null;
            if (!onThisVm)
            {
                peer = PeerFor(member, mpath, selfIndex, self, peerPool, errors);
                if (peer is null)
                {
                    continue;
                }
                peers.TryAdd(peer.SenderIndex, peer);
                NoteClear(peer, plan, fallback);
            }
            if (!members.TryAdd(address, new MemberRoute(member.Name, address, peer, plan, fallback)))
            {
                errors.Add($"{mpath}.address: {member.Address} is used by two members");
            }
        }
    }

    /// <summary>
    /// The credentials whose keys read (the others record why), and among them <paramref name="newest"/>: the newest
    /// epoch not yet retired, the one to send with (null when every credential has retired or none read).
    /// </summary>
    private List<(CredentialConfig Cred, byte[] Key)> ReadKeys(IReadOnlyList<CredentialConfig?> credentials, string path, int size,
        List<string> errors, out (CredentialConfig Cred, byte[] Key)? newest)
    {
        var keys = new List<(CredentialConfig, byte[])>(credentials.Count);
        newest = null;
        long now = _time.GetUtcNow().UtcTicks;
        for (int c = 0; c < credentials.Count; c++)
        {
            CredentialConfig? cred = credentials[c];
            if (ReadKey(cred, $"{path}[{c}]", size, errors) is not { } key || cred is null)
            {
                continue;
            }
            keys.Add((cred, key));
            if (IsNewerLive(cred, newest?.Cred, now))
            {
                newest = (cred, key);
            }
        }
        return keys;
    }

    /// <summary>
    /// The group's cipher by name. Unknown names are refused, never replaced by the default (sealing with another
    /// cipher than the group's peers would drop every frame); AEGIS-256 is refused where this VM's CPU lacks AES-NI,
    /// where libsodium would run it in software, slower than ChaCha20-Poly1305 (issue 16).
    /// </summary>
    private static GroupCipher CompileCipher(string? name, string path, List<string> errors)
    {
        if (!GroupCiphers.TryParse(name, out GroupCipher cipher))
        {
            errors.Add($"{path}: '{name}' is not a cipher this agent knows ({GroupCiphers.Known}): upgrade the agent");
        }
        else if (!GroupCiphers.HostSupports(cipher))
        {
            errors.Add($"{path}: {GroupCiphers.Name(cipher)} needs AES-NI, which this VM's CPU lacks (/proc/cpuinfo flag 'aes'; give the VM a CPU model with it)");
        }
        else if (cipher == GroupCipher.Aegis256 && !Aegis256Context.TryLoad(out string? error))
        {
            errors.Add($"{path}: {GroupCiphers.Name(cipher)} needs libsodium.so beside overlay-agent: {error}");
        }
        return cipher;
    }

    /// <summary>A credential's key: exactly <paramref name="size"/> bytes with a non-negative epoch; else the problem is recorded and null returned.
    /// A copy, zeroed when the compile returns: the document's own bytes stay for recompiles until it is retired.</summary>
    private byte[]? ReadKey(CredentialConfig? cred, string path, int size, List<string> errors)
    {
        byte[] key = cred?.Key.ToArray() ?? [];
        _decodedKeys.Add(key);
        if (cred is null || key.Length != size || cred.Epoch < 0)
        {
            errors.Add($"{path}.key: epoch {cred?.Epoch} must carry a {size}-byte key (got {key.Length} bytes; redacted documents cannot be used)");
            return null;
        }
        return key;
    }

    /// <summary>True when <paramref name="cred"/> has not retired at <paramref name="now"/> and is newer than <paramref name="newest"/>: the epoch to send with.</summary>
    private static bool IsNewerLive(CredentialConfig cred, CredentialConfig? newest, long now) =>
        (cred.RetiresAt is null || cred.RetiresAt.Value.UtcTicks > now) && (newest is null || cred.Epoch > newest.Epoch);

    /// <summary>
    /// The document routes to <paramref name="peer"/> in clear (directly or when the engine refuses): it is on a trusted
    /// segment with this VM, so its clear frames are accepted. Trust is a property of the pair of VMs (both addresses in one
    /// segment), so every route to the same VM says the same.
    /// </summary>
    private static void NoteClear(PeerVm peer, RoutePlan plan, RoutePlan fallback)
    {
        if (plan == RoutePlan.Clear || (plan == RoutePlan.Engine && fallback == RoutePlan.Clear))
        {
            peer.AcceptsClear = true;
        }
    }

    /// <summary>
    /// The key to seal with: the previous one when epoch and key are unchanged (its counter and ciphers carry on),
    /// else a new one whose counter continues the previous one's (per sender, across epochs: it only ever rises).
    /// </summary>
    private SendKey SendKeyFor(SendKey? previous, uint epoch, byte[] key, GroupCipher suite, Func<byte[], ulong, FrameCipher> cipher)
    {
        byte[] fingerprint = SHA256.HashData(key);
        if (previous is not null && previous.Epoch == epoch && previous.KeyFingerprint.AsSpan().SequenceEqual(fingerprint) && previous.Cipher.Cipher == suite)
        {
            return previous;
        }
        return new SendKey
        {
            Epoch = epoch,
            Salt = _streamSalt,
            Cipher = cipher(key, _streamSalt),
            SharedCipher = cipher(key, _streamSalt),
            Counter = previous?.Counter ?? new FrameCounter(_time),
            KeyFingerprint = fingerprint,
        };
    }

    /// <summary>Receive state for one sender's streams in one epoch: its sender key, derived here and zeroed after.</summary>
    private SenderStreams NewStreams(byte[] groupKey, uint groupId, uint epoch, uint senderIndex, GroupCipher cipher)
    {
        Span<byte> senderKey = stackalloc byte[FrameKeySchedule.KeySize];
        try
        {
            FrameKeySchedule.DeriveSenderKey(groupKey, groupId, epoch, senderIndex, senderKey);
            return new SenderStreams(senderKey, _time, SenderStreams.DefaultMaxSkew, cipher);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(senderKey);
        }
    }

    private PeerVm? PeerFor(MemberConfig member, string path, uint selfIndex, string self, Dictionary<uint, PeerVm> peerPool, List<string> errors)
    {
        uint sender = OverlayIds.SenderIndex(member.Domain);
        if (peerPool.TryGetValue(sender, out var peer))
        {
            if (!string.Equals(peer.Domain, member.Domain, StringComparison.Ordinal))
            {
                errors.Add($"{path}.domain: sender index of '{member.Domain}' collides with '{peer.Domain}'");
                return null;
            }
            return peer;
        }
        if (member.DomainAddress is null || !TryParseIpv4(member.DomainAddress, out uint underlay))
        {
            errors.Add($"{path}.domainAddress: VM '{member.Domain}' has no IPv4 underlay address ('{member.DomainAddress}')");
            return null;
        }
        if (sender == selfIndex)
        {
            errors.Add($"{path}.domain: sender index of '{member.Domain}' collides with this VM '{self}'");
            return null;
        }
        // Not IPAddress(long) of a byte-swapped int: an address whose last octet is 128 or more came out negative and threw.
        var endpoint = new IPEndPoint(AddressMath.FromNumber(underlay, AddressFamily.InterNetwork), _overlayPort);
        peer = new PeerVm { Domain = member.Domain, SenderIndex = sender, UnderlayAddress = underlay, Endpoint = endpoint, SocketAddress = endpoint.Serialize(),
            Counters = _counters.ForPeer(member.Domain) };
        peerPool.Add(sender, peer);
        return peer;
    }

    /// <summary>
    /// A neighbor group (related by policy, not one of ours): its members, all on other VMs, and this VM's
    /// derived sending key. Its VMs are collected per related local group so those groups accept their frames.
    /// </summary>
    private GroupRuntime? CompileNeighbor(NeighborGroupConfig? neighbor, string path, string self, uint selfIndex, AgentSnapshot? previous,
        Dictionary<uint, PeerVm> peerPool, Dictionary<string, List<PeerVm>> neighborPeers, List<string> errors)
    {
        if (neighbor is null || string.IsNullOrEmpty(neighbor.Name) || neighbor.Members is null || neighbor.SendCredentials is null || neighbor.RelatedTo is null)
        {
            errors.Add($"{path}: missing name, members, relatedTo or sendCredentials");
            return null;
        }
        int errorsBefore = errors.Count;
        uint id = OverlayIds.GroupId(neighbor.Name);
        GroupRuntime? old = null;
        previous?.Neighbors.TryGetValue(id, out old);
        var members = new Dictionary<uint, MemberRoute>();
        var peers = new Dictionary<uint, PeerVm>();
        CompileMembers(neighbor.Members, path, neighbor: true, self, selfIndex, peerPool, peers, members, errors);
        foreach (var local in neighbor.RelatedTo)
        {
            if (!neighborPeers.TryGetValue(local, out var list))
            {
                neighborPeers[local] = list = [];
            }
            list.AddRange(peers.Values);
        }

        GroupCipher cipher = CompileCipher(neighbor.Cipher, $"{path}.cipher", errors);
        SendKey? sendKey = null;
        ReadKeys(neighbor.SendCredentials, $"{path}.sendCredentials", FrameKeySchedule.KeySize, errors, out var newest);
        if (newest is (CredentialConfig newestCred, byte[] newestKey))
        {
            // Already derived for this VM as a sender by the daemon (it never sends a neighbor's group key).
            sendKey = SendKeyFor(old?.SendKey, (uint)newestCred.Epoch, newestKey, cipher, (key, salt) => FrameCipher.ForStream(key, salt, cipher));
        }
        if (errors.Count > errorsBefore)
        {
            return null;
        }
        return new GroupRuntime
        {
            Name = neighbor.Name,
            Id = id,
            IsNeighbor = true,
            Cipher = cipher,
            Counters = _counters.ForGroup(neighbor.Name),
            Members = members,
            Peers = peers,
            ReceiveKeys = [],
            SendKey = sendKey,
            LocalApps = [],
        };
    }

    private static Dictionary<uint, DirectoryRoute> BuildDirectory(Dictionary<uint, GroupRuntime> groups, Dictionary<uint, GroupRuntime> neighbors)
    {
        var directory = new Dictionary<uint, DirectoryRoute>();
        foreach (var group in groups.Values)
        {
            foreach (var member in group.Members.Values)
            {
                directory.TryAdd(member.Address, new DirectoryRoute(group, member));
            }
        }
        foreach (var group in neighbors.Values)
        {
            foreach (var member in group.Members.Values)
            {
                directory.TryAdd(member.Address, new DirectoryRoute(group, member));
            }
        }
        return directory;
    }

    internal static bool TryParseIpv4(string? text, out uint address)
    {
        address = 0;
        if (text is null || !IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[4];
        ip.TryWriteBytes(bytes, out _);
        address = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        return true;
    }
}
