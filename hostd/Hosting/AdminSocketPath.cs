using System.Net.Sockets;

namespace OverlayKvm.HostDaemon.Hosting;

/// <summary>
/// Prepares the admin socket's path before it is bound (PrivateUnixListener gives it its mode). A leftover socket
/// file from a crashed daemon is removed; a socket another live daemon answers on is not (two daemons on one
/// socket would split the operators' view).
/// </summary>
internal static class AdminSocketPath
{
    public static void PrepareForBind(string path)
    {
        var dir = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(dir))
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                           UnixFileMode.GroupRead | UnixFileMode.GroupExecute |
                                           UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        if (!File.Exists(path)) return;

        if (IsAnswering(path))
            throw new InvalidOperationException($"admin socket {path}: another overlayd is already listening on it");
        File.Delete(path);
    }


    private static bool IsAnswering(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false; // ECONNREFUSED or not a socket: stale, safe to replace
        }
    }
}
