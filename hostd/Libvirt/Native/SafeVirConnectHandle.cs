using Microsoft.Win32.SafeHandles;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>A virConnectPtr. Domains keep their own reference to the connection, so closing this while
/// domain handles are alive is safe: libvirt frees the connection with the last reference.</summary>
internal sealed class SafeVirConnectHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public SafeVirConnectHandle() : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle() => Interop.Libvirt.ConnectClose(handle) >= 0;
}
