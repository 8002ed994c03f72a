using System.Security.Cryptography;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// A libvirt network with a bridge and nothing else: no forward element (isolated) and no host address, so
/// libvirt starts no dnsmasq and the guests' traffic stays on the bridge. Disposing destroys and undefines it.
/// </summary>
internal sealed class IsolatedNetwork : IAsyncDisposable
{
    private readonly Action<string> _log;
    private bool _defined;

    private IsolatedNetwork(string name, string bridge, Action<string> log)
    {
        Name = name;
        Bridge = bridge;
        _log = log;
    }

    public string Name { get; }
    public string Bridge { get; }

    public static async Task<IsolatedNetwork> CreateAsync(Action<string> log)
    {
        var suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var network = new IsolatedNetwork("okve2e-net-" + suffix, "okvbr" + suffix, log); // bridge names: at most 15 bytes
        var xmlPath = Path.Combine(Path.GetTempPath(), network.Name + ".xml");
        try
        {
            await File.WriteAllTextAsync(xmlPath, $"<network><name>{network.Name}</name><bridge name='{network.Bridge}' stp='off' delay='0'/></network>");
            await Virsh.RunAsync("net-define", xmlPath);
            network._defined = true;
            await Virsh.RunAsync("net-start", network.Name);
            log($"network {network.Name} on bridge {network.Bridge}");
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
        if (undefine.ExitCode != 0) failures.Add($"net-undefine: {undefine.Stderr.Trim()}");
        _log($"removed network {Name}");
        if (failures.Count > 0)
            throw new InvalidOperationException($"cleanup of network {Name} failed: {string.Join("; ", failures)}");
    }
}
