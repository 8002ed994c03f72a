using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

internal static partial class Interop
{
    internal const int MSG_DONTWAIT = 0x40;
    internal const int MSG_TRUNC = 0x20;

    /// <summary>struct iovec (sys/uio.h).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (sys/socket.h, x86-64/arm64 LP64 layout: 56 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct MsgHdr
    {
        public byte* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>struct mmsghdr: a msghdr plus the byte count the kernel fills in (64 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    /// <summary>recvmmsg(2): up to vlen datagrams in one call.</summary>
    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    internal static unsafe partial int RecvMmsg(SafeSocketHandle fd, MMsgHdr* vec, uint vlen, int flags, void* timeout);

    /// <summary>sendmmsg(2): up to vlen datagrams in one call.</summary>
    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    internal static unsafe partial int SendMmsg(SafeSocketHandle fd, MMsgHdr* vec, uint vlen, int flags);
}
