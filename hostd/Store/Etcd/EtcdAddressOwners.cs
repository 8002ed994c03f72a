using System.Net;

namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>Who already holds an address, across apps, VMs and hosts: the etcd twin of <see cref="AddressOwners"/>, same wording.</summary>
internal static class EtcdAddressOwners
{
    /// <returns>"app web/frontend", "domain vm1", "host h1", or null when the address is free.</returns>
    public static string? Find(EtcdStoreModel model, IPAddress address, string? exceptDomain = null, string? exceptHost = null)
    {
        foreach (var app in model.Applications.Values)
        {
            if (app.Address.Equals(address))
            {
                return $"app {app.Group}/{app.Name}";
            }
        }

        foreach (var domain in model.Domains.Values)
        {
            if (address.Equals(domain.Address) && !string.Equals(domain.Name, exceptDomain, StringComparison.Ordinal))
            {
                return $"domain {domain.Name}";
            }
        }

        foreach (var host in model.Hosts.Values)
        {
            if (host.Address.Equals(address) && !string.Equals(host.Name, exceptHost, StringComparison.Ordinal))
            {
                return $"host {host.Name}";
            }
        }

        return null;
    }

    /// <summary>Every VM and host address: an allocator must skip them as well as app addresses.</summary>
    public static List<IPAddress> InfrastructureAddresses(EtcdStoreModel model)
    {
        var addresses = new List<IPAddress>();
        foreach (var domain in model.Domains.Values)
        {
            if (domain.Address is { } address)
            {
                addresses.Add(address);
            }
        }

        foreach (var host in model.Hosts.Values)
        {
            addresses.Add(host.Address);
        }

        return addresses;
    }
}
