using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace OverlayKvm.HostDaemon.Channel;

/// <summary>
/// The credentials the kernel recorded for the other end of a connected unix socket (SO_PEERCRED, socket(7)):
/// for the side that connected, those of the process that called listen() on the socket it reached. A pid of 0
/// means that process has exited.
/// </summary>
internal readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid)
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;
    // struct ucred { pid_t pid; uid_t uid; gid_t gid; } — three 32-bit fields in host byte order.
    private const int UcredSize = 12;

    /// <summary>Reads the peer's credentials; throws <see cref="SocketException"/> when the socket has none (not connected).</summary>
    public static PeerCredentials Of(Socket socket)
    {
        Span<byte> ucred = stackalloc byte[UcredSize];
        int length = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        if (length != UcredSize)
        {
            throw new SocketException((int)SocketError.InvalidArgument, $"SO_PEERCRED returned {length} bytes, expected {UcredSize}");
        }
        return new PeerCredentials(
            MemoryMarshal.Read<int>(ucred),
            MemoryMarshal.Read<uint>(ucred[4..]),
            MemoryMarshal.Read<uint>(ucred[8..]));
    }

    public override string ToString() => $"pid {Pid} uid {Uid} gid {Gid}";
}
