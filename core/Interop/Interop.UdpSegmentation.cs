using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

internal static partial class Interop
{
    /// <summary>SOL_UDP (= IPPROTO_UDP): the level of the UDP socket options and control messages below.</summary>
    internal const int SOL_UDP = 17;

    /// <summary>UDP_SEGMENT (linux/udp.h): a control message (u16) on sendmsg: split the payload into datagrams of this size (Linux 4.18+).</summary>
    internal const int UDP_SEGMENT = 103;

    /// <summary>UDP_GRO (linux/udp.h): socket option (int) to receive coalesced datagrams; each comes with a control message (int) giving the segment size (Linux 5.0+).</summary>
    internal const int UDP_GRO = 104;

    /// <summary>msg_flags: some control data did not fit.</summary>
    internal const int MSG_CTRUNC = 0x08;

    /// <summary>struct cmsghdr (sys/socket.h, LP64: 16 bytes, data follows aligned to 8).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct CmsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    /// <summary>CMSG_SPACE for up to 8 bytes of data: the header and the data, aligned to 8.</summary>
    internal const int CmsgSpace8 = 24;
}
