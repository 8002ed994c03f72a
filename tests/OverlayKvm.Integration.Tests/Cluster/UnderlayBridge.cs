using System.Security.Cryptography;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// The underlay between test hosts whose VMs run under different libvirtds on this machine: one Linux bridge in the
/// root network namespace (a libvirtd in its own mount namespace still shares the network namespace) that each
/// domain joins with <c>&lt;interface type='bridge'&gt;</c>. No host address and no IPv6 on it, so every frame on it
/// is the VMs' own. Removed on dispose.
/// </summary>
internal sealed class UnderlayBridge : IDisposable
{
    private UnderlayBridge(string name) => Name = name;

    public string Name { get; }

    /// <param name="prefix">The start of the bridge's name (the caller's tag); 6 random hex digits follow (≤ 15 bytes in all).</param>
    public static UnderlayBridge Create(string prefix)
    {
        Prerequisites.RequireRootAndTools("ip", "sysctl");
        var bridge = new UnderlayBridge(prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)));
        Cmd.Check("ip", "link", "add", bridge.Name, "type", "bridge", "stp_state", "0", "forward_delay", "0");
        try
        {
            Cmd.Check("sysctl", "-qw", $"net.ipv6.conf.{bridge.Name}.disable_ipv6=1");
            Cmd.Check("ip", "link", "set", bridge.Name, "up");
            return bridge;
        }
        catch
        {
            bridge.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        var (code, _, err) = Cmd.Run("ip", "link", "del", Name);
        if (code != 0 && !err.Contains("Cannot find device", StringComparison.Ordinal))
            throw new InvalidOperationException($"could not remove the underlay bridge {Name}: {err}");
    }
}
