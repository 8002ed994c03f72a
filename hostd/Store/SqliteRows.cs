using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using OverlayKvm.Core.Json;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>Column lists and row-to-record mapping, kept in one place so every query reads records the same way.</summary>
internal static class SqliteRows
{
    public const string GroupColumns = "id, name, address_space, protection, version, cipher";

    public const string ApplicationSelect =
        "SELECT g.name, a.name, a.address, a.domain, a.manifest, a.version FROM applications a JOIN groups g ON g.id = a.group_id";

    // The run state and the address source live in meta (SqliteOverlayStore.DomainStates, .DomainAddresses): no schema change for them.
    public const string DomainColumns = "name, uuid, host, address, version, EXISTS (SELECT 1 FROM meta WHERE meta.key = 'domain-stopped/' || domains.name), "
        + "EXISTS (SELECT 1 FROM meta WHERE meta.key = 'domain-address-libvirt/' || domains.name)";

    public const string HostColumns = "name, address, capacity, version";

    public const string CredentialColumns = "epoch, key, created_at, retires_at";

    /// <summary>Stored for apps without data objects; recognised on read to skip JSON parsing (10,000-app reads).</summary>
    private const string EmptyManifest = "[]";

    public static ApplicationGroup ReadGroup(SqliteDataReader row) =>
        new(row.GetString(1), IPNetwork.Parse(row.GetString(2)), (ProtectionLevel)row.GetInt32(3), row.GetInt64(4))
        {
            Number = row.GetInt32(0),
            Cipher = (GroupCipher)row.GetInt32(5),
        };

    public static Application ReadApplication(SqliteDataReader row) =>
        new(row.GetString(0), row.GetString(1), IPAddress.Parse(row.GetString(2)), row.GetString(3), ReadManifest(row.GetString(4)), row.GetInt64(5));

    public static DomainRecord ReadDomain(SqliteDataReader row) =>
        new(
            row.GetString(0),
            row.IsDBNull(1) ? null : Guid.Parse(row.GetString(1)),
            row.GetString(2),
            row.IsDBNull(3) ? null : IPAddress.Parse(row.GetString(3)),
            row.GetInt64(4),
            row.GetInt64(5) != 0,
            row.GetInt64(6) != 0 ? DomainAddressSource.Libvirt : DomainAddressSource.Operator);

    public static HostRecord ReadHost(SqliteDataReader row) =>
        new(row.GetString(0), IPAddress.Parse(row.GetString(1)), row.GetInt32(2), row.GetInt64(3));

    /// <param name="offset">Column index of <c>epoch</c> (credential columns follow in <see cref="CredentialColumns"/> order).</param>
    public static GroupCredential ReadCredential(string group, SqliteDataReader row, int offset = 0) =>
        new(
            group,
            row.GetInt32(offset),
            (byte[])row.GetValue(offset + 1),
            DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(offset + 2)),
            row.IsDBNull(offset + 3) ? null : DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(offset + 3)));

    public static string WriteManifest(IReadOnlyList<DataObject> manifest) =>
        manifest.Count == 0 ? EmptyManifest : JsonSerializer.Serialize([.. manifest], OverlayJsonContext.Default.ListDataObject);

    public static IReadOnlyList<DataObject> ReadManifest(string json) =>
        json == EmptyManifest ? [] : JsonSerializer.Deserialize(json, OverlayJsonContext.Default.ListDataObject) ?? [];

    /// <summary>Columns: id, destination name, senders, protocol, port_first, port_last, verdict, version.</summary>
    public static AccessPolicy ReadPolicy(SqliteDataReader row)
    {
        var id = row.GetInt64(0);
        var lines = row.GetString(2).Split('\n');
        var senders = new List<PolicySender>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            senders.Add(PolicyText.ParseSender($"policy {id}: sender[{i}]", lines[i]));
        }

        PortRange? ports = row.IsDBNull(4) ? null : new PortRange((ushort)row.GetInt32(4), (ushort)row.GetInt32(5));
        var definition = new PolicyDefinition(row.GetString(1), senders, (PolicyProtocol)row.GetInt32(3), ports, (PolicyVerdict)row.GetInt32(6));
        return new AccessPolicy(id, definition, row.GetInt64(7));
    }

    public static GroupParent ReadGroupParent(SqliteDataReader row) => new(row.GetString(0), row.GetString(1), row.GetInt64(2));

    /// <summary>Canonical sender terms, one per line (a canonical term never contains a line break).</summary>
    public static string WriteSenders(IReadOnlyList<PolicySender> senders)
    {
        var lines = new string[senders.Count];
        for (var i = 0; i < lines.Length; i++)
        {
            lines[i] = PolicyText.FormatSender(senders[i]);
        }

        return string.Join('\n', lines);
    }

    public static object? ToDb(IPAddress? address) => address?.ToString();

    public static object? ToDb(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds();
}
