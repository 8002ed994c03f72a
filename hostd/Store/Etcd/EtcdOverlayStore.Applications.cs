using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store.Etcd;

public sealed partial class EtcdOverlayStore
{
    /// <inheritdoc/>
    /// <remarks>
    /// A null <paramref name="address"/> takes the lowest free address of the group's space (skipping every
    /// app, VM and host address) on the state the Txn compares against, so two daemons can never hand out one address.
    /// </remarks>
    public Application DefineApplication(string group, string name, IPAddress? address, string domain, IReadOnlyList<DataObject> manifest)
    {
        var (label, requested) = ApplicationRules.CheckDefinition(group, name, domain, address, manifest);

        return Write(scope =>
        {
            var model = scope.Model;
            var owner = RequireGroup(model, group);
            if (model.Applications.ContainsKey((group, name)))
            {
                throw GroupStoreRules.AppExists(label);
            }

            SenderIndexRule.Check(model, domain);

            IPAddress assigned;
            if (requested is not null)
            {
                AddressSpaceRules.CheckAppAddress(label, group, owner.AddressSpace, requested);
                if (EtcdAddressOwners.Find(model, requested) is { } holder)
                {
                    throw PlacementRules.AddressTaken($"app {label}", requested, holder);
                }

                assigned = requested;
            }
            else
            {
                var taken = EtcdAddressOwners.InfrastructureAddresses(model);
                foreach (var app in model.Applications.Values)
                {
                    if (string.Equals(app.Group, group, StringComparison.Ordinal))
                    {
                        taken.Add(app.Address);
                    }
                }

                assigned = AddressAllocator.LowestFree(group, owner.AddressSpace, taken);
            }

            TouchDomain(scope, domain);
            var created = new Application(group, name, assigned, domain, [.. manifest], scope.Version);
            scope.Put(created);
            scope.StampGroup(group);
            return created;
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<Application> ListApplications(string? group = null)
    {
        var model = Model;
        if (group is null)
        {
            return [.. model.Applications.Values];
        }

        RequireGroup(model, group);
        var list = new List<Application>();
        foreach (var (key, app) in model.Applications)
        {
            if (string.Equals(key.Group, group, StringComparison.Ordinal))
            {
                list.Add(app);
            }
        }

        return list;
    }

    /// <inheritdoc/>
    public Application? GetApplication(string group, string name) => Model.Applications.GetValueOrDefault((group, name));

    /// <inheritdoc/>
    public void UndefineApplication(string group, string name)
    {
        Write(scope =>
        {
            RequireGroup(scope.Model, group);
            var app = scope.Model.Applications.GetValueOrDefault((group, name)) ?? throw new EntityNotFoundException("app", $"{group}/{name}");
            scope.Delete(scope.Keys.Application(group, name));

            // The group lost a member and the domain lost an app: both documents must show a new version.
            scope.StampGroup(group);
            if (scope.Model.Domains.TryGetValue(app.Domain, out var domain))
            {
                scope.Put(domain with { Version = scope.Version });
            }

            return 0;
        });
    }

    /// <summary>Creates the domain on the local host if unknown, else stamps it: its set of apps changed.</summary>
    private static void TouchDomain(EtcdWriteScope scope, string domain) =>
        scope.Put(scope.Model.Domains.TryGetValue(domain, out var existing)
            ? existing with { Version = scope.Version }
            : new DomainRecord(domain, null, scope.LocalHost, null, scope.Version));
}
