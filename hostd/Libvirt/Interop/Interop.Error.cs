using System.Runtime.InteropServices;

namespace OverlayKvm.HostDaemon.Libvirt;

internal static partial class Interop
{
    internal static partial class Libvirt
    {
        /// <summary>struct _virError (virterror.h). Only <see cref="Code"/>, <see cref="Domain"/> and <see cref="Message"/> are read.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct VirError
        {
            internal int Code;
            internal int Domain;
            internal IntPtr Message;
            internal int Level;
            internal IntPtr Conn;
            internal IntPtr Dom;
            internal IntPtr Str1;
            internal IntPtr Str2;
            internal IntPtr Str3;
            internal int Int1;
            internal int Int2;
            internal IntPtr Net;
        }

        /// <summary>The calling thread's last error (thread-local, owned by libvirt: never freed), or NULL.</summary>
        [LibraryImport(LibraryName, EntryPoint = "virGetLastError")]
        internal static unsafe partial VirError* GetLastError();

        [LibraryImport(LibraryName, EntryPoint = "virResetLastError")]
        internal static partial void ResetLastError();

        /// <summary>Replaces libvirt's default handler, which prints every error to stderr.</summary>
        [LibraryImport(LibraryName, EntryPoint = "virSetErrorFunc")]
        internal static unsafe partial void SetErrorFunc(IntPtr userData, delegate* unmanaged<IntPtr, VirError*, void> handler);
    }

    internal static partial class Libc
    {
        /// <summary>libvirt returns malloc'ed strings and arrays; they go back to the same allocator.</summary>
        [LibraryImport("libc", EntryPoint = "free")]
        internal static partial void Free(IntPtr pointer);
    }
}
