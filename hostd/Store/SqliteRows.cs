using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using OverlayKvm.Core.Json;
using OverlayKvm.Core.Model;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>Column lists and row-to-record mapping, kept in one place so every query reads records the same way.</summary>
internal static class SqliteRows
{
    public const string GroupColumns = "id, name, address_space, protection, version";

    public const string ApplicationSelect =
        "SELECT g.name, a.name, a.address, a.domain, a.manifest, a.version FROM applications a JOIN groups g ON g.id = a.group_id";

    public const string DomainColumns = "name, uuid, host, address, version";

    public const string HostColumns = "name, address, capacity, version";

    public const string CredentialColumns = "epoch, key, created_at, retires_at";

    /// <summary>Stored for apps without data objects; recognised on read to skip JSON parsing (10,000-app reads).</summary>
    private const string EmptyManifest = "[]";

    public static ApplicationGroup ReadGroup(SqliteDataReader row) =>
        new(row.GetString(1), IPNetwork.Parse(row.GetString(2)), (ProtectionLevel)row.GetInt32(3), row.GetInt64(4))
        {
            Number = row.GetInt32(0),
        };

    public static Application ReadApplication(SqliteDataReader row) =>
        new(row.GetString(0), row.GetString(1), IPAddress.Parse(row.GetString(2)), row.GetString(3), ReadManifest(row.GetString(4)), row.GetInt64(5));

    public static DomainRecord ReadDomain(SqliteDataReader row) =>
        new(
            row.GetString(0),
            row.IsDBNull(1) ? null : Guid.Parse(row.GetString(1)),
            row.GetString(2),
            row.IsDBNull(3) ? null : IPAddress.Parse(row.GetString(3)),
            row.GetInt64(4));

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

    public static object? ToDb(IPAddress? address) => address?.ToString();

    public static object? ToDb(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds();
}
