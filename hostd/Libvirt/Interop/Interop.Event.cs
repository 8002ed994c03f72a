using System.Runtime.InteropServices;

namespace OverlayKvm.HostDaemon.Libvirt;

internal static partial class Interop
{
    internal static partial class Libvirt
    {
        /// <summary>Must run before the first virConnectOpen so connections use the default (poll-based) loop.</summary>
        [LibraryImport(LibraryName, EntryPoint = "virEventRegisterDefaultImpl")]
        internal static partial int EventRegisterDefaultImpl();

        /// <summary>One iteration of the default loop: blocks in poll until a handle or timer fires.</summary>
        [LibraryImport(LibraryName, EntryPoint = "virEventRunDefaultImpl")]
        internal static partial int EventRunDefaultImpl();

        [LibraryImport(LibraryName, EntryPoint = "virEventAddTimeout")]
        internal static unsafe partial int EventAddTimeout(
            int frequencyMs,
            delegate* unmanaged<int, IntPtr, void> callback,
            IntPtr opaque,
            delegate* unmanaged<IntPtr, void> freeCallback);

        /// <summary>
        /// The callback is declared generic in C; for VIR_DOMAIN_EVENT_ID_LIFECYCLE libvirt calls it as
        /// <c>int (*)(virConnectPtr, virDomainPtr, int event, int detail, void *opaque)</c>.
        /// </summary>
        [LibraryImport(LibraryName, EntryPoint = "virConnectDomainEventRegisterAny")]
        internal static unsafe partial int ConnectDomainEventRegisterAny(
            SafeVirConnectHandle conn,
            IntPtr domain,
            int eventId,
            delegate* unmanaged<IntPtr, IntPtr, int, int, IntPtr, int> callback,
            IntPtr opaque,
            delegate* unmanaged<IntPtr, void> freeCallback);

        [LibraryImport(LibraryName, EntryPoint = "virConnectDomainEventDeregisterAny")]
        internal static partial int ConnectDomainEventDeregisterAny(SafeVirConnectHandle conn, int callbackId);
    }
}
