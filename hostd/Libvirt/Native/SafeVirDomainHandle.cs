using Microsoft.Win32.SafeHandles;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>A virDomainPtr (a reference to libvirt's domain object, not the VM itself).</summary>
internal sealed class SafeVirDomainHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public SafeVirDomainHandle() : base(ownsHandle: true)
    {
    }

    /// <summary>Takes ownership of a pointer from an array libvirt returned (virConnectListAllDomains).</summary>
    internal SafeVirDomainHandle(IntPtr owned) : base(ownsHandle: true) => SetHandle(owned);

    protected override bool ReleaseHandle() => Interop.Libvirt.DomainFree(handle) == 0;
}
