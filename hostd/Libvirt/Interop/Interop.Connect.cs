using System.Runtime.InteropServices;

namespace OverlayKvm.HostDaemon.Libvirt;

internal static partial class Interop
{
    internal static partial class Libvirt
    {
        [LibraryImport(LibraryName, EntryPoint = "virConnectOpen", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial SafeVirConnectHandle ConnectOpen(string? name);

        /// <summary>Returns the remaining reference count, or -1 on error. Called only by <see cref="SafeVirConnectHandle"/>.</summary>
        [LibraryImport(LibraryName, EntryPoint = "virConnectClose")]
        internal static partial int ConnectClose(IntPtr conn);

        [LibraryImport(LibraryName, EntryPoint = "virConnectIsAlive")]
        internal static partial int ConnectIsAlive(SafeVirConnectHandle conn);

        [LibraryImport(LibraryName, EntryPoint = "virConnectSetKeepAlive")]
        internal static partial int ConnectSetKeepAlive(SafeVirConnectHandle conn, int interval, uint count);

        /// <summary>Fills <paramref name="domains"/> with a malloc'ed array of virDomainPtr (each freed with virDomainFree, the array with free).</summary>
        [LibraryImport(LibraryName, EntryPoint = "virConnectListAllDomains")]
        internal static partial int ConnectListAllDomains(SafeVirConnectHandle conn, out IntPtr domains, uint flags);

        [LibraryImport(LibraryName, EntryPoint = "virConnectRegisterCloseCallback")]
        internal static unsafe partial int ConnectRegisterCloseCallback(
            SafeVirConnectHandle conn,
            delegate* unmanaged<IntPtr, int, IntPtr, void> callback,
            IntPtr opaque,
            delegate* unmanaged<IntPtr, void> freeCallback);

        [LibraryImport(LibraryName, EntryPoint = "virConnectUnregisterCloseCallback")]
        internal static unsafe partial int ConnectUnregisterCloseCallback(
            SafeVirConnectHandle conn,
            delegate* unmanaged<IntPtr, int, IntPtr, void> callback);
    }
}
