using System.Net.Sockets;
using OverlayKvm.Core.Interop;
using CoreInterop = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// A network namespace created for one test ("a VM"): unique name (prefix + random suffix), loopback up, deleted
/// on dispose together with every interface inside it. Sockets can be opened inside it from the test process.
/// </summary>
internal sealed class NetNamespace : IDisposable
{
    public const string Prefix = "ovkt-";

    private NetNamespace(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public static NetNamespace Create(string role)
    {
        string name = $"{Prefix}{role}-{Guid.NewGuid().ToString("N")[..6]}";
        Cmd.Check("ip", "netns", "add", name);
        var ns = new NetNamespace(name);
        try
        {
            ns.Ip("link", "set", "lo", "up");
            // IPv4-only underlay: no IPv6 neighbour discovery chatter, so captures hold only what the test caused.
            var (code, _, err) = ns.Exec("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
            Assert.True(code == 0, $"disabling IPv6 in namespace {name} failed: {err}");
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>`ip -n NAME ARGS`, throwing with stderr on failure.</summary>
    public string Ip(params string[] args) => Cmd.Check("ip", ["-n", Name, .. args]);

    /// <summary>Runs a command inside the namespace.</summary>
    public (int Code, string Out, string Err) Exec(params string[] args) => Cmd.Run("ip", ["netns", "exec", Name, .. args]);

    /// <summary>
    /// Opens a socket inside this namespace: a short-lived thread enters it with setns(2), creates the socket and
    /// leaves; the socket stays in the namespace it was created in, whichever thread uses it later.
    /// </summary>
    public Socket OpenSocket(AddressFamily family, SocketType type, ProtocolType protocol)
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using SafeFdHandle fd = SafeFdHandle.Open($"/var/run/netns/{Name}", 0);
                IoCheck.Check(CoreInterop.SetNs(fd, CoreInterop.CLONE_NEWNET), $"setns {Name}");
                socket = new Socket(family, type, protocol);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException($"opening a socket in namespace {Name} failed: {failure.Message}", failure);
        }
        return socket!;
    }

    public void Dispose()
    {
        Cmd.Run("ip", "netns", "del", Name);
    }
}
