using System.Net;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// Who already holds an address, across all three roles (app, VM, host): R0.3 wants every app address
/// distinct from every VM and host address, and two VMs or hosts with one address would defeat anti-spoofing.
/// </summary>
internal static class AddressOwners
{
    /// <returns>"app web/frontend", "domain vm1", "host h1", or null when the address is free.</returns>
    public static string? Find(WriteScope scope, IPAddress address, string? exceptDomain = null, string? exceptHost = null)
    {
        var text = address.ToString();
        if (scope.Scalar(
                "SELECT g.name || '/' || a.name FROM applications a JOIN groups g ON g.id = a.group_id WHERE a.address = $a",
                ("$a", text)) is string app)
        {
            return $"app {app}";
        }

        if (scope.Scalar("SELECT name FROM domains WHERE address = $a AND name IS NOT $x LIMIT 1", ("$a", text), ("$x", exceptDomain)) is string domain)
        {
            return $"domain {domain}";
        }

        return scope.Scalar("SELECT name FROM hosts WHERE address = $a AND name IS NOT $x LIMIT 1", ("$a", text), ("$x", exceptHost)) is string host
            ? $"host {host}"
            : null;
    }

    /// <summary>Every VM and host address: an allocator must skip them as well as app addresses.</summary>
    public static List<IPAddress> InfrastructureAddresses(WriteScope scope)
    {
        var addresses = new List<IPAddress>();
        using var command = scope.Command("SELECT address FROM domains WHERE address IS NOT NULL UNION SELECT address FROM hosts");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            addresses.Add(IPAddress.Parse(reader.GetString(0)));
        }

        return addresses;
    }
}
