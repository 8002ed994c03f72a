using System.Runtime.InteropServices;
using System.Text;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>A reference to one libvirt domain. Name and UUID are read once: they never change for a domain object.</summary>
internal sealed class LibvirtDomain : IDisposable
{
    private readonly SafeVirDomainHandle _handle;

    internal LibvirtDomain(SafeVirDomainHandle handle)
    {
        _handle = handle;
        Name = Marshal.PtrToStringUTF8(LibvirtErrors.CheckPointer(Interop.Libvirt.DomainGetName(handle), "virDomainGetName", "a domain"))!;
        Uuid = ReadUuid(handle, Name);
    }

    public string Name { get; }
    public Guid Uuid { get; }

    /// <summary>For readers of other libvirt domain calls (Libvirt/Addresses); the domain keeps ownership.</summary>
    internal SafeVirDomainHandle Handle => _handle;

    private string Subject => $"domain '{Name}'";

    public bool IsActive => LibvirtErrors.Check(Interop.Libvirt.DomainIsActive(_handle), "virDomainIsActive", Subject) == 1;

    /// <summary>The domain XML; <paramref name="inactive"/> gives the persistent definition rather than the live one.</summary>
    public string GetXml(bool inactive)
    {
        IntPtr xml = LibvirtErrors.CheckPointer(
            Interop.Libvirt.DomainGetXmlDesc(_handle, inactive ? Interop.Libvirt.DomainXmlInactive : 0), "virDomainGetXMLDesc", Subject);
        return TakeString(xml);
    }

    public void Create() => LibvirtErrors.Check(Interop.Libvirt.DomainCreate(_handle), "virDomainCreate", Subject);

    public void Destroy() => LibvirtErrors.Check(Interop.Libvirt.DomainDestroy(_handle), "virDomainDestroy", Subject);

    public void Undefine() => LibvirtErrors.Check(Interop.Libvirt.DomainUndefine(_handle), "virDomainUndefine", Subject);

    /// <summary>Our element in &lt;metadata&gt; for namespace <paramref name="namespaceUri"/>, or null when the domain has none.</summary>
    public string? GetMetadata(string namespaceUri, DomainModification flags = DomainModification.Current)
    {
        IntPtr xml = Interop.Libvirt.DomainGetMetadata(_handle, Interop.Libvirt.MetadataElement, namespaceUri, (uint)flags);
        if (xml == IntPtr.Zero)
        {
            var error = LibvirtErrors.CreateLast("virDomainGetMetadata", $"{Subject} namespace '{namespaceUri}'");
            if (error.Code == LibvirtErrorCode.NoDomainMetadata)
            {
                return null;
            }
            throw error;
        }
        return TakeString(xml);
    }

    /// <summary>Sets (or with null <paramref name="elementXml"/>, removes) our element, written with prefix <paramref name="prefix"/>.</summary>
    public void SetMetadata(string? elementXml, string prefix, string namespaceUri, DomainModification flags = DomainModification.Current) =>
        LibvirtErrors.Check(
            Interop.Libvirt.DomainSetMetadata(_handle, Interop.Libvirt.MetadataElement, elementXml, elementXml is null ? null : prefix, namespaceUri, (uint)flags),
            "virDomainSetMetadata", $"{Subject} namespace '{namespaceUri}'");

    public void AttachDevice(string deviceXml, DomainModification flags) =>
        LibvirtErrors.Check(Interop.Libvirt.DomainAttachDeviceFlags(_handle, deviceXml, (uint)flags), "virDomainAttachDeviceFlags", Subject);

    public void DetachDevice(string deviceXml, DomainModification flags) =>
        LibvirtErrors.Check(Interop.Libvirt.DomainDetachDeviceFlags(_handle, deviceXml, (uint)flags), "virDomainDetachDeviceFlags", Subject);

    /// <summary>
    /// Live-migrates this domain to the daemon of <paramref name="destination"/> (<c>virsh migrate --live</c> without
    /// --p2p): the domain stays transient there, as with virsh. Blocks until the migration ended; returns the domain
    /// on the destination.
    /// </summary>
    public LibvirtDomain MigrateLive(LibvirtConnection destination, string? migrationUri)
    {
        var handle = LibvirtErrors.Check(Interop.Libvirt.DomainMigrate2(_handle, destination.Handle, null, Interop.Libvirt.MigrateLive, null, migrationUri, 0),
            "virDomainMigrate2", $"{Subject} to '{destination.Uri}'");
        return new LibvirtDomain(handle);
    }

    public void Dispose() => _handle.Dispose();

    private static string TakeString(IntPtr malloced)
    {
        try
        {
            return Marshal.PtrToStringUTF8(malloced) ?? string.Empty;
        }
        finally
        {
            Interop.Libc.Free(malloced);
        }
    }

    private static unsafe Guid ReadUuid(SafeVirDomainHandle handle, string name)
    {
        byte* buffer = stackalloc byte[Interop.Libvirt.UuidStringBufferLength];
        // SAFETY: the buffer is VIR_UUID_STRING_BUFLEN bytes, the size libvirt writes (36 chars + NUL).
        LibvirtErrors.Check(Interop.Libvirt.DomainGetUuidString(handle, buffer), "virDomainGetUUIDString", $"domain '{name}'");
        return Guid.Parse(Encoding.ASCII.GetString(buffer, Interop.Libvirt.UuidStringBufferLength - 1));
    }
}
