using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace OverlayKvm.HostDaemon.Hosting;

/// <summary>This host's identity in the inventory, resolved once from <see cref="DaemonOptions"/>.</summary>
public sealed class LocalHost
{
    public LocalHost(IOptions<DaemonOptions> options)
    {
        var o = options.Value;
        Name = string.IsNullOrWhiteSpace(o.HostName) ? SanitizeName(Environment.MachineName) : o.HostName;
        Address = o.HostAddress is not null ? IPAddress.Parse(o.HostAddress) : ResolveDefaultAddress();
        Capacity = o.HostCapacity;
    }

    public string Name { get; }
    public IPAddress Address { get; }
    public int Capacity { get; }

    private static IPAddress ResolveDefaultAddress()
    {
        try
        {
            foreach (var a in Dns.GetHostAddresses(Dns.GetHostName()))
                if (a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a)) return a;
        }
        catch (SocketException)
        {
            // No resolvable host name (common in containers): loopback is a safe inventory address for one host.
        }
        return IPAddress.Loopback;
    }

    // Machine names may hold characters the model refuses in names (e.g. '+'); keep the safe ones.
    private static string SanitizeName(string machine)
    {
        var chars = new System.Text.StringBuilder();
        foreach (char c in machine)
            chars.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-');
        var name = chars.ToString().TrimStart('-', '_', '.');
        return name.Length == 0 ? "localhost" : name.Length > 64 ? name[..64] : name;
    }
}
