using System.Security.Cryptography;
using OverlayKvm.Integration.Tests.E2e;

namespace OverlayKvm.Integration.Tests.Libvirt;

/// <summary>
/// An isolated libvirt network (no forward element: nothing leaves the bridge) on a private /24 with DHCP, so that
/// libvirt runs dnsmasq for it and records its guests' leases. Disposing destroys and undefines it (libvirt stops
/// its dnsmasq and removes the bridge).
/// </summary>
internal sealed class DhcpNetwork : IAsyncDisposable
{
    private const string Dnsmasq = "/usr/sbin/dnsmasq";
    private readonly Action<string> _log;
    private bool _defined;

    private DhcpNetwork(string name, string bridge, string prefix, Action<string> log)
    {
        Name = name;
        Bridge = bridge;
        Subnet = System.Net.IPNetwork.Parse(prefix + ".0/24");
        _log = log;
    }

    public string Name { get; }
    public string Bridge { get; }
    public System.Net.IPNetwork Subnet { get; }

    /// <param name="prefix">The first three octets of the private /24, e.g. "192.168.151" (unique to the test).</param>
    public static async Task<DhcpNetwork> CreateAsync(string prefix, Action<string> log)
    {
        if (!File.Exists(Dnsmasq))
            throw new InvalidOperationException($"DHCP on a libvirt network needs {Dnsmasq} (scripts/setup.sh installs dnsmasq-base)");
        var suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var network = new DhcpNetwork("okvaddr-net-" + suffix, "okvad" + suffix, prefix, log); // bridge names: at most 15 bytes
        var xmlPath = Path.Combine(Path.GetTempPath(), network.Name + ".xml");
        try
        {
            await File.WriteAllTextAsync(xmlPath, $"""
                <network>
                  <name>{network.Name}</name>
                  <bridge name='{network.Bridge}' stp='off' delay='0'/>
                  <ip address='{prefix}.1' netmask='255.255.255.0'>
                    <dhcp><range start='{prefix}.100' end='{prefix}.199'/></dhcp>
                  </ip>
                </network>
                """);
            network._defined = true;
            await Virsh.RunAsync("net-define", xmlPath);
            await Virsh.RunAsync("net-start", network.Name);
            log($"DHCP network {network.Name} on bridge {network.Bridge}, {network.Subnet}");
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
