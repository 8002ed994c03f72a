using System.Runtime.InteropServices;

namespace OverlayKvm.HostDaemon.Libvirt;

internal static partial class Interop
{
    internal static partial class Libvirt
    {
        [LibraryImport(LibraryName, EntryPoint = "virDomainLookupByName", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial SafeVirDomainHandle DomainLookupByName(SafeVirConnectHandle conn, string name);

        [LibraryImport(LibraryName, EntryPoint = "virDomainDefineXML", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial SafeVirDomainHandle DomainDefineXml(SafeVirConnectHandle conn, string xml);

        [LibraryImport(LibraryName, EntryPoint = "virDomainUndefine")]
        internal static partial int DomainUndefine(SafeVirDomainHandle domain);

        [LibraryImport(LibraryName, EntryPoint = "virDomainCreate")]
        internal static partial int DomainCreate(SafeVirDomainHandle domain);

        [LibraryImport(LibraryName, EntryPoint = "virDomainDestroy")]
        internal static partial int DomainDestroy(SafeVirDomainHandle domain);

        /// <summary>Called only by <see cref="SafeVirDomainHandle"/>.</summary>
        [LibraryImport(LibraryName, EntryPoint = "virDomainFree")]
        internal static partial int DomainFree(IntPtr domain);

        /// <summary>Returns a malloc'ed string the caller frees.</summary>
        [LibraryImport(LibraryName, EntryPoint = "virDomainGetXMLDesc")]
        internal static partial IntPtr DomainGetXmlDesc(SafeVirDomainHandle domain, uint flags);

        /// <summary>Returns a string owned by the domain object (not freed). Also used on borrowed pointers in event callbacks.</summary>
        [LibraryImport(LibraryName, EntryPoint = "virDomainGetName")]
        internal static partial IntPtr DomainGetName(IntPtr domain);

        [LibraryImport(LibraryName, EntryPoint = "virDomainGetName")]
        internal static partial IntPtr DomainGetName(SafeVirDomainHandle domain);

        [LibraryImport(LibraryName, EntryPoint = "virDomainGetUUIDString")]
        internal static unsafe partial int DomainGetUuidString(IntPtr domain, byte* buffer);

        [LibraryImport(LibraryName, EntryPoint = "virDomainGetUUIDString")]
        internal static unsafe partial int DomainGetUuidString(SafeVirDomainHandle domain, byte* buffer);

        [LibraryImport(LibraryName, EntryPoint = "virDomainIsActive")]
        internal static partial int DomainIsActive(SafeVirDomainHandle domain);

        /// <summary>Returns a malloc'ed string the caller frees; NULL with VIR_ERR_NO_DOMAIN_METADATA when absent.</summary>
        [LibraryImport(LibraryName, EntryPoint = "virDomainGetMetadata", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial IntPtr DomainGetMetadata(SafeVirDomainHandle domain, int type, string? uri, uint flags);

        [LibraryImport(LibraryName, EntryPoint = "virDomainSetMetadata", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int DomainSetMetadata(SafeVirDomainHandle domain, int type, string? metadata, string? key, string? uri, uint flags);

        [LibraryImport(LibraryName, EntryPoint = "virDomainAttachDeviceFlags", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int DomainAttachDeviceFlags(SafeVirDomainHandle domain, string xml, uint flags);

        [LibraryImport(LibraryName, EntryPoint = "virDomainDetachDeviceFlags", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int DomainDetachDeviceFlags(SafeVirDomainHandle domain, string xml, uint flags);

        /// <summary>
        /// Migrates to the daemon behind <paramref name="destination"/> (libvirt drives both ends; no peer-to-peer);
        /// <paramref name="uri"/> is the migration stream's address (e.g. tcp:HOST), null for libvirt's choice.
        /// Returns the domain on the destination (owned by the caller), NULL on failure.
        /// </summary>
        [LibraryImport(LibraryName, EntryPoint = "virDomainMigrate2", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial SafeVirDomainHandle DomainMigrate2(SafeVirDomainHandle domain, SafeVirConnectHandle destination, string? dxml,
            ulong flags, string? dname, string? uri, ulong bandwidth);

        /// <summary>virDomainMigrateFlags: VIR_MIGRATE_LIVE.</summary>
        internal const ulong MigrateLive = 1 << 0;
    }
}
