using System.Security.Cryptography;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// An isolated libvirt network (no forward element: nothing leaves the bridge). Plain: a bridge and nothing else,
/// no host address, so libvirt starts no dnsmasq. With a DHCP prefix: a private /24 with a DHCP range, so libvirt
/// runs dnsmasq for it and records its guests' leases. Disposing destroys and undefines it (libvirt stops its
/// dnsmasq and removes the bridge).
/// </summary>
internal sealed class IsolatedNetwork : IAsyncDisposable
{
    private const string Dnsmasq = "/usr/sbin/dnsmasq";
    private readonly Action<string> _log;
    private bool _defined;

    private IsolatedNetwork(string name, string bridge, System.Net.IPNetwork? subnet, Action<string> log)
    {
        Name = name;
        Bridge = bridge;
        Subnet = subnet;
        _log = log;
    }

    public string Name { get; }
    public string Bridge { get; }

    /// <summary>The DHCP subnet, or null for a plain bridge.</summary>
    public System.Net.IPNetwork? Subnet { get; }

    public static Task<IsolatedNetwork> CreateAsync(Action<string> log) => CreateAsync("okve2e-net-", "okvbr", null, log);

    /// <param name="prefix">The first three octets of the private /24, e.g. "192.168.151" (unique to the test).</param>
    public static Task<IsolatedNetwork> CreateWithDhcpAsync(string prefix, Action<string> log)
    {
        if (!File.Exists(Dnsmasq))
            throw new InvalidOperationException($"DHCP on a libvirt network needs {Dnsmasq} (scripts/setup.sh installs dnsmasq-base)");
        return CreateAsync("okvaddr-net-", "okvad", prefix, log);
    }

    private static async Task<IsolatedNetwork> CreateAsync(string namePrefix, string bridgePrefix, string? dhcpPrefix, Action<string> log)
    {
        var suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var subnet = dhcpPrefix is null ? (System.Net.IPNetwork?)null : System.Net.IPNetwork.Parse(dhcpPrefix + ".0/24");
        var network = new IsolatedNetwork(namePrefix + suffix, bridgePrefix + suffix, subnet, log); // bridge names: at most 15 bytes
        var xmlPath = Path.Combine(Path.GetTempPath(), network.Name + ".xml");
        string ip = dhcpPrefix is null ? "" :
            $"<ip address='{dhcpPrefix}.1' netmask='255.255.255.0'><dhcp><range start='{dhcpPrefix}.100' end='{dhcpPrefix}.199'/></dhcp></ip>";
        try
        {
            await File.WriteAllTextAsync(xmlPath, $"<network><name>{network.Name}</name><bridge name='{network.Bridge}' stp='off' delay='0'/>{ip}</network>");
            await Virsh.RunAsync("net-define", xmlPath);
            network._defined = true;
            await Virsh.RunAsync("net-start", network.Name);
            log($"network {network.Name} on bridge {network.Bridge}{(subnet is null ? "" : $", DHCP on {subnet}")}");
            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
        finally
        {
            File.Delete(xmlPath);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_defined) return;
        _defined = false;
        var failures = new List<string>();
        var destroy = await Virsh.TryRunAsync(TimeSpan.FromSeconds(60), "net-destroy", Name);
        if (destroy.ExitCode != 0 && !destroy.Stderr.Contains("not active", StringComparison.OrdinalIgnoreCase))
            failures.Add($"net-destroy: {destroy.Stderr.Trim()}");
        var undefine = await Virsh.TryRunAsync(TimeSpan.FromSeconds(60), "net-undefine", Name);
        if (undefine.ExitCode != 0 && !undefine.Stderr.Contains("no network", StringComparison.OrdinalIgnoreCase))
            failures.Add($"net-undefine: {undefine.Stderr.Trim()}");
        _log($"removed network {Name}");
        if (failures.Count > 0)
            throw new InvalidOperationException($"cleanup of network {Name} failed: {string.Join("; ", failures)}");
    }
}
