using System.Net;
using Microsoft.Data.Sqlite;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

public sealed partial class SqliteOverlayStore
{
    /// <inheritdoc/>
    /// <remarks>
    /// A null <paramref name="address"/> takes the lowest free address of the group's space (skipping the
    /// network/broadcast address and every app, VM and host address), chosen inside the write transaction.
    /// A <paramref name="domain"/> nobody declared yet is created on this store's local host, without address.
    /// </remarks>
    public Application DefineApplication(string group, string name, IPAddress? address, string domain, IReadOnlyList<DataObject> manifest)
    {
        var (label, requested) = ApplicationRules.CheckDefinition(group, name, domain, address, manifest);

        return Write(scope =>
        {
            var owner = FindGroup(scope, group) ?? throw new EntityNotFoundException("group", group);
            if (scope.Scalar("SELECT 1 FROM applications WHERE group_id = $g AND name = $n", ("$g", owner.Number), ("$n", name)) is not null)
            {
                throw GroupStoreRules.AppExists(label);
            }

            SenderIndexRule.Check(scope, domain);

            IPAddress assigned;
            if (requested is not null)
            {
                AddressSpaceRules.CheckAppAddress(label, group, owner.AddressSpace, requested);
                var holder = AddressOwners.Find(scope, requested);
                if (holder is not null)
                {
                    throw PlacementRules.AddressTaken($"app {label}", requested, holder);
                }

                assigned = requested;
            }
            else
            {
                var taken = AddressOwners.InfrastructureAddresses(scope);
                using (var command = scope.Command("SELECT address FROM applications WHERE group_id = $g", ("$g", owner.Number)))
                using (var reader = command.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        taken.Add(IPAddress.Parse(reader.GetString(0)));
                    }
                }

                assigned = AddressAllocator.LowestFree(group, owner.AddressSpace, taken);
            }

            TouchDomain(scope, domain);
            scope.Execute(
                "INSERT INTO applications (group_id, name, address, domain, manifest, version) VALUES ($g, $n, $a, $d, $m, $v)",
                ("$g", owner.Number), ("$n", name), ("$a", assigned.ToString()), ("$d", domain),
                ("$m", SqliteRows.WriteManifest(manifest)), ("$v", scope.Version));
            StampGroup(scope, owner.Number);
            scope.MarkChanged();
            return new Application(group, name, assigned, domain, [.. manifest], scope.Version);
        });
    }

    /// <inheritdoc/>
    /// <remarks>Sorted by group, then name. An unknown <paramref name="group"/> throws <see cref="EntityNotFoundException"/>.</remarks>
    public IReadOnlyList<Application> ListApplications(string? group = null)
    {
        using var connection = OpenReader();
        if (group is null)
        {
            return LoadApplications(connection, null);
        }

        using var exists = connection.CreateCommand();
        exists.CommandText = "SELECT 1 FROM groups WHERE name = $n";
        exists.Parameters.AddWithValue("$n", group);
        if (exists.ExecuteScalar() is null)
        {
            throw new EntityNotFoundException("group", group);
        }

        using var command = connection.CreateCommand();
        command.CommandText = $"{SqliteRows.ApplicationSelect} WHERE g.name = $n ORDER BY a.name";
        command.Parameters.AddWithValue("$n", group);
        return ReadAll(command, SqliteRows.ReadApplication);
    }

    /// <inheritdoc/>
    public Application? GetApplication(string group, string name) =>
        ReadOne($"{SqliteRows.ApplicationSelect} WHERE g.name = $g AND a.name = $n", SqliteRows.ReadApplication, ("$g", group), ("$n", name));

    /// <inheritdoc/>
    public Application? FindApplicationByAddress(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return ReadOne($"{SqliteRows.ApplicationSelect} WHERE a.address = $a", SqliteRows.ReadApplication, ("$a", AddressMath.Canonical(address).ToString()));
    }

    /// <inheritdoc/>
    public IReadOnlyList<Application> ListApplicationsInDomain(string domain) =>
        ReadList($"{SqliteRows.ApplicationSelect} WHERE a.domain = $d ORDER BY g.name, a.name", SqliteRows.ReadApplication, ("$d", domain));

    /// <inheritdoc/>
    public void UndefineApplication(string group, string name)
    {
        Write(scope =>
        {
            var owner = FindGroup(scope, group) ?? throw new EntityNotFoundException("group", group);
            var domain = scope.Scalar(
                "DELETE FROM applications WHERE group_id = $g AND name = $n RETURNING domain",
                ("$g", owner.Number), ("$n", name)) as string ?? throw new EntityNotFoundException("app", $"{group}/{name}");

            // The group lost a member and the domain lost an app: both documents must show a new version.
            StampGroup(scope, owner.Number);
            scope.Execute("UPDATE domains SET version = $v WHERE name = $d", ("$v", scope.Version), ("$d", domain));
            scope.MarkChanged();
            return 0;
        });
    }

    private static List<Application> LoadApplications(SqliteConnection connection, SqliteTransaction? transaction) =>
        ReadAll(connection, transaction, $"{SqliteRows.ApplicationSelect} ORDER BY g.name, a.name", SqliteRows.ReadApplication);

    /// <summary>Creates the domain on the local host if unknown, else stamps it: its set of apps changed.</summary>
    private static void TouchDomain(WriteScope scope, string domain) =>
        scope.Execute(
            "INSERT INTO domains (name, uuid, host, address, version) VALUES ($d, NULL, $h, NULL, $v) ON CONFLICT (name) DO UPDATE SET version = excluded.version",
            ("$d", domain), ("$h", scope.LocalHost), ("$v", scope.Version));
}
