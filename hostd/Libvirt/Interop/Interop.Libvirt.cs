namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// Imports from <c>libvirt.so.0</c> (Debian <c>libvirt0</c>). C names stay inside this class; everything else
/// uses the SafeHandles and typed exceptions in <c>Native/</c>. Constants are the values of libvirt 9.0's headers.
/// </summary>
internal static partial class Interop
{
    internal static partial class Libvirt
    {
        internal const string LibraryName = "libvirt.so.0";

        /// <summary>virDomainXMLFlags.VIR_DOMAIN_XML_INACTIVE: the persistent definition, not the live one.</summary>
        internal const uint DomainXmlInactive = 1 << 1;

        /// <summary>virDomainMetadataType.VIR_DOMAIN_METADATA_ELEMENT: an element of ours inside &lt;metadata&gt;.</summary>
        internal const int MetadataElement = 2;

        /// <summary>VIR_UUID_STRING_BUFLEN: 36 characters plus the terminator.</summary>
        internal const int UuidStringBufferLength = 37;

        /// <summary>virDomainEventID.VIR_DOMAIN_EVENT_ID_LIFECYCLE.</summary>
        internal const int DomainEventIdLifecycle = 0;
    }
}
