using System.Runtime.InteropServices;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// An open connection to a libvirt driver ("qemu:///system", "test:///default"). Thread-safe as libvirt
/// connections are. Opening registers libvirt's default event loop first (see <see cref="LibvirtEventLoop"/>),
/// because a connection only delivers events and keepalives if the loop existed when it was opened.
/// </summary>
internal sealed class LibvirtConnection : IDisposable
{
    private readonly SafeVirConnectHandle _handle;

    private LibvirtConnection(SafeVirConnectHandle handle, string uri)
    {
        _handle = handle;
        Uri = uri;
    }

    public string Uri { get; }

    internal SafeVirConnectHandle Handle => _handle;

    private string Subject => $"connection '{Uri}'";

    public static LibvirtConnection Open(string uri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        LibvirtEventLoop.EnsureStarted();
        var handle = LibvirtErrors.Check(Interop.Libvirt.ConnectOpen(uri), "virConnectOpen", $"connection '{uri}'");
        return new LibvirtConnection(handle, uri);
    }

    /// <summary>True while the connection (and for remote drivers, the daemon behind it) answers.</summary>
    public bool IsAlive => !_handle.IsClosed && Interop.Libvirt.ConnectIsAlive(_handle) == 1;

    /// <summary>Lets libvirt detect a dead daemon within interval × (count + 1) seconds, via the event loop.</summary>
    public void SetKeepAlive(int intervalSeconds, uint count) =>
        LibvirtErrors.Check(Interop.Libvirt.ConnectSetKeepAlive(_handle, intervalSeconds, count), "virConnectSetKeepAlive", Subject);

    public IReadOnlyList<LibvirtDomain> ListAllDomains()
    {
        int count = LibvirtErrors.Check(Interop.Libvirt.ConnectListAllDomains(_handle, out IntPtr array, 0), "virConnectListAllDomains", Subject);
        var result = new List<LibvirtDomain>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                // Each pointer is owned by us from here on: wrap it first so it is freed even if a later one fails.
                var handle = new SafeVirDomainHandle(Marshal.ReadIntPtr(array, i * IntPtr.Size));
                result.Add(new LibvirtDomain(handle));
            }
        }
        catch
        {
            foreach (var domain in result)
            {
                domain.Dispose();
            }
            throw;
        }
        finally
        {
            Interop.Libc.Free(array);
        }
        return result;
    }

    public LibvirtDomain LookupByName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var handle = LibvirtErrors.Check(Interop.Libvirt.DomainLookupByName(_handle, name), "virDomainLookupByName", $"domain '{name}' ({Subject})");
        return new LibvirtDomain(handle);
    }

    /// <summary>Null when no such domain exists; other failures still throw.</summary>
    public LibvirtDomain? TryLookupByName(string name)
    {
        try
        {
            return LookupByName(name);
        }
        catch (LibvirtNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Defines (or redefines, same name and UUID) a persistent domain.</summary>
    public LibvirtDomain Define(string xml)
    {
        ArgumentException.ThrowIfNullOrEmpty(xml);
        var handle = LibvirtErrors.Check(Interop.Libvirt.DomainDefineXml(_handle, xml), "virDomainDefineXML", Subject);
        return new LibvirtDomain(handle);
    }

    public void Dispose() => _handle.Dispose();
}
