namespace OverlayKvm.Core.Config;

/// <summary>
/// Everything the guest agent of one domain needs (R0.2): its apps and addresses, the members of its groups
/// and where they run, routes (seed 000 Tables 1 and 2), and the credentials of its own groups only.
/// Built deterministically (members and groups sorted by name) so the same store state yields the same bytes.
/// Addresses are strings on the wire so the document stays trivially AOT-serializable.
/// </summary>
/// <param name="FormatVersion">Schema version of this document (see <see cref="CurrentFormat"/>).</param>
/// <param name="Version">
/// The highest store version among the records that contributed (the domain, its groups, their members and the
/// members' domains): rises with every store change that alters the document, unaffected by unrelated changes.
/// A key epoch reaching its retirement time changes the content without a store change (see docs/config-document.md).
/// </param>
/// <param name="Digest">SHA-256 (hex) of the document's content with Digest empty; lets agents skip no-op pushes.</param>
public sealed record DomainConfigDocument(
    int FormatVersion,
    string Domain,
    long Version,
    string Digest,
    string? DomainAddress,
    string Host,
    IReadOnlyList<LocalAppConfig> Apps,
    IReadOnlyList<GroupConfig> Groups)
{
    /// <summary>
    /// The newest format: 3 = 2 plus groups (or neighbors) whose <see cref="GroupConfig.Cipher"/> is not ChaCha20-Poly1305
    /// (issue 16). 2: every member carries its route (<see cref="MemberConfig.Path"/>, <see cref="MemberConfig.Actions"/>,
    /// <see cref="MemberConfig.Fallback"/>) decided by the directory's classifier. Agents refuse any format they do not read, by name.
    /// </summary>
    public const int CurrentFormat = 3;

    /// <summary>The oldest format this build reads, and the one it writes when every group uses the default cipher.</summary>
    public const int OldestFormat = 2;

    /// <summary>
    /// The format a document is written in: 3 only when a group or neighbor uses another cipher than ChaCha20-Poly1305,
    /// so that an agent from before issue 16 (reads only 2, ignores unknown fields) refuses the whole document rather
    /// than sealing such a group with ChaCha20-Poly1305; documents of ChaCha20-Poly1305 groups stay readable by it.
    /// </summary>
    public static int FormatFor(IReadOnlyList<GroupConfig> groups, IReadOnlyList<NeighborGroupConfig> neighbors)
    {
        foreach (var group in groups)
        {
            if (!IsDefaultCipher(group.Cipher))
            {
                return CurrentFormat;
            }
        }
        foreach (var neighbor in neighbors)
        {
            if (!IsDefaultCipher(neighbor.Cipher))
            {
                return CurrentFormat;
            }
        }
        return OldestFormat;
    }

    private static bool IsDefaultCipher(string cipher) => string.Equals(cipher, Model.GroupCiphers.ChaCha20Poly1305Name, StringComparison.Ordinal);

    /// <summary>
    /// Policies the domain's agent enforces as the receiving side: those attached to its groups or to their
    /// ancestors (seed 004 R4.3, R4.8), by id. Empty in documents built without policies.
    /// </summary>
    public IReadOnlyList<Policy.PolicyConfig> Policies { get => _policies; init => _policies = value ?? []; }

    /// <summary>The nesting rows needed to evaluate <see cref="Policies"/> (ancestors of its groups, sub-groups of named senders).</summary>
    public IReadOnlyList<Policy.GroupParentConfig> GroupParents { get => _groupParents; init => _groupParents = value ?? []; }

    /// <summary>What applies when no policy matches; null in documents built by hand (agents then use the standard defaults).</summary>
    public Policy.PolicyDefaultsConfig? PolicyDefaults { get; init; }

    /// <summary>
    /// Groups this domain does not take part in but which policy relates to one of its groups (see
    /// <see cref="Policy.GroupRelations"/>): their members (the directory entries, seed 002) and this domain's own
    /// sending keys for them. Empty when no allow policy crosses a group boundary.
    /// </summary>
    public IReadOnlyList<NeighborGroupConfig> Neighbors { get => _neighbors; init => _neighbors = value ?? []; }

    // The source-generated JSON reader sets every init-only property when it builds the record, with null for one the
    // document leaves out (a document from an older overlayd, or a hostile one): an absent list means an empty list
    // here, as documented above, instead of a NullReferenceException in the agent's compiler (found by fuzzing,
    // tests/OverlayKvm.Fuzz/Crashes/channel-agent). An explicit JSON null is still refused by the reader.
    private readonly IReadOnlyList<Policy.PolicyConfig> _policies = [];
    private readonly IReadOnlyList<Policy.GroupParentConfig> _groupParents = [];
    private readonly IReadOnlyList<NeighborGroupConfig> _neighbors = [];
}

/// <summary>
/// A group related by policy to one of the domain's groups (<paramref name="RelatedTo"/>). Its members are
/// reachable through the sealed path once negotiation allows a flow. <paramref name="SendCredentials"/> are not
/// the group's key but the keys derived from it for this domain as a sender (one per live epoch): enough to
/// send to the group and be authenticated as this domain, useless for reading the group's traffic or for
/// impersonating anyone else.
/// </summary>
/// <param name="Protection">The neighbor's protection level: how frames to it are protected ("Sealed"/"Authenticated").</param>
public sealed record NeighborGroupConfig(
    string Name,
    string AddressSpace,
    string Protection,
    IReadOnlyList<string> RelatedTo,
    IReadOnlyList<MemberConfig> Members,
    IReadOnlyList<CredentialConfig> SendCredentials)
{
    /// <summary>The AEAD frames to the neighbor are sealed with (its group's cipher, <see cref="GroupConfig.Cipher"/>).</summary>
    public string Cipher { get => _cipher; init => _cipher = value ?? Model.GroupCiphers.ChaCha20Poly1305Name; }

    private readonly string _cipher = Model.GroupCiphers.ChaCha20Poly1305Name;
}

/// <summary>An app that runs in this domain. Table 1: source-address rule steering the app to its group's adapter.</summary>
/// <param name="RouteTable">Routing table id that holds this app's routes (rule "from Address lookup RouteTable").</param>
public sealed record LocalAppConfig(
    string Group,
    string Name,
    string Address,
    int RouteTable,
    IReadOnlyList<RouteEntry> Routes,
    IReadOnlyList<DataObjectConfig> Manifest);

/// <summary>A route of Table 1: destination prefix, gateway ("adapter" = the group's adapter), weight (100 group, 1 default).</summary>
public sealed record RouteEntry(string Destination, string Gateway, int Weight);

public sealed record DataObjectConfig(string Name, string Source, string? Sha256);

/// <summary>A group this domain takes part in.</summary>
public sealed record GroupConfig(
    string Name,
    string AddressSpace,
    string Protection,
    IReadOnlyList<MemberConfig> Members,
    IReadOnlyList<CredentialConfig> Credentials)
{
    /// <summary>
    /// The AEAD that seals the group's frames: "chacha20-poly1305" or "aegis-256" (issue 16). Absent (documents of
    /// format 2) means ChaCha20-Poly1305; an agent refuses a name it does not know rather than guess.
    /// </summary>
    public string Cipher { get => _cipher; init => _cipher = value ?? Model.GroupCiphers.ChaCha20Poly1305Name; }

    private readonly string _cipher = Model.GroupCiphers.ChaCha20Poly1305Name;
}

/// <summary>
/// Table 2: a member app, its overlay address and the domain (with its address and host) that runs it, and the route
/// from this domain to it as the directory decided it (seed 002 R2, R4: path class and ordered sender actions, by the
/// names of <see cref="DirectoryService.PathClasses"/> and <see cref="DirectoryService.TransformActions"/>). The agent
/// executes these; it has no rules of its own for choosing a path.
/// </summary>
public sealed record MemberConfig(
    string Name,
    string Address,
    string Domain,
    string? DomainAddress,
    string Host)
{
    /// <summary>The path class ("same-vm", "same-host", "trusted-segment", "untrusted").</summary>
    public string Path { get; init; } = "";

    /// <summary>The sender's actions in order, e.g. ["encapsulate", "seal"].</summary>
    public IReadOnlyList<string> Actions { get => _actions; init => _actions = value ?? []; }

    /// <summary>For "engine": the actions when the engine refuses the packet (seed 000 R0.14); empty otherwise.</summary>
    public IReadOnlyList<string> Fallback { get => _fallback; init => _fallback = value ?? []; }

    private readonly IReadOnlyList<string> _actions = [];
    private readonly IReadOnlyList<string> _fallback = [];

    // Records compare lists by reference; members are equal when their routes say the same.
    public bool Equals(MemberConfig? other) =>
        other is not null && Name == other.Name && Address == other.Address && Domain == other.Domain && DomainAddress == other.DomainAddress
        && Host == other.Host && Path == other.Path && _actions.SequenceEqual(other._actions) && _fallback.SequenceEqual(other._fallback);

    public override int GetHashCode() => HashCode.Combine(Name, Address, Domain, DomainAddress, Host, Path);
}

/// <summary>
/// A key epoch of the group. <see cref="Key"/> travels as base64 (System.Text.Json's form of a byte array); it is empty
/// (redacted, "") unless secrets are requested. Bytes, not a string, so that whoever holds the document can zero the
/// key when done with it (issue 14 item 10): a .NET string cannot be wiped.
/// </summary>
public sealed record CredentialConfig(int Epoch, byte[] Key, DateTimeOffset? RetiresAt)
{
    public bool Equals(CredentialConfig? other) =>
        other is not null && Epoch == other.Epoch && RetiresAt == other.RetiresAt && Key.AsSpan().SequenceEqual(other.Key);

    public override int GetHashCode() => HashCode.Combine(Epoch, RetiresAt, Key.Length);
}
