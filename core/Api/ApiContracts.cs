namespace OverlayKvm.Core.Api;

// The admin API's request and response bodies (overlayd <-> overlayctl). Addresses and CIDRs are strings here:
// the daemon parses them and answers a malformed one with 400 and a message that names the field.

/// <param name="Cipher">"chacha20-poly1305" (default when absent) or "aegis-256" (issue 16).</param>
public sealed record GroupDefineRequest(string Name, string Cidr, string? Protection, string? Cipher = null);

public sealed record GroupView(string Name, string Cidr, string Protection, long Version, int Applications, IReadOnlyList<CredentialEpochView> Epochs)
{
    /// <summary>The AEAD that seals the group's frames ("chacha20-poly1305", "aegis-256").</summary>
    public string Cipher { get; init; } = Model.GroupCiphers.ChaCha20Poly1305Name;
}

/// <summary>Metadata of one key epoch; the key itself never leaves the daemon through this view.</summary>
public sealed record CredentialEpochView(int Epoch, DateTimeOffset CreatedAt, DateTimeOffset? RetiresAt);

public sealed record CredentialsRotateRequest(int? GraceSeconds);

public sealed record GroupProtectionRequest(string Protection);

public sealed record DataObjectView(string Name, string Source, string? Sha256);

public sealed record AppDefineRequest(string Group, string Name, string Domain, string? Address, IReadOnlyList<DataObjectView>? Manifest);

public sealed record AppView(string Group, string Name, string Address, string Domain, long Version, IReadOnlyList<DataObjectView> Manifest);

public sealed record DomainDefineRequest(string Name, string? Address, string? Host);

/// <param name="AddressSource">"operator" or "libvirt" (issue 11): who gave <paramref name="Address"/>.</param>
public sealed record DomainView(string Name, string? Uuid, string Host, string? Address, long Version, bool Stopped = false, string AddressSource = "operator");

public sealed record HealthView(string Status, long StoreVersion, string Host);

public sealed record VersionView(string Daemon, string Api, long StoreVersion);

/// <summary>Every non-2xx answer of the API carries one of these: one line an operator can act on.</summary>
public sealed record ErrorView(string Error);

/// <summary>One domain's agent channel as overlayd sees it.</summary>
public sealed record ChannelView(string Domain, string Socket, bool Connected, long AcknowledgedVersion, long RejectedMessages, long RefusedListeners = 0);

/// <summary>
/// One host of the inventory (`overlayctl host-list`): alive while its lease holds (always, on one host with SQLite),
/// its underlay address, the domains placed on it and the capacity left for more.
/// </summary>
public sealed record HostView(string Name, bool Alive, string Address, int Capacity, IReadOnlyList<string> Domains, int FreeCapacity, long Version);
