using System.Net.Sockets;
using System.Security.Cryptography;

namespace OverlayKvm.HostDaemon.Hosting;

/// <summary>
/// Creates a listening unix socket that carries its final mode from the moment anyone can reach it (issue 14
/// item 10: the admin socket used to be bound and listening with the umask's mode until a later chmod). The socket
/// is bound inside a fresh 0700 directory next to its final path — nobody else can traverse it — given its mode,
/// put into listening state, and only then renamed to the final path, which appears atomically with that mode.
/// Connections are checked against the socket file's mode at connect(), so none can pass in between.
/// </summary>
internal static class PrivateUnixListener
{
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <param name="path">The final socket path; must not exist (see <see cref="AdminSocketPath.PrepareForBind"/>).</param>
    /// <param name="mode">The socket's permission bits.</param>
    /// <param name="backlog">listen() backlog.</param>
    /// <param name="beforePublish">Test seam: called with the staging path after listen(), before the rename.</param>
    public static Socket Create(string path, UnixFileMode mode, int backlog = 512, Action<string>? beforePublish = null)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        // Same directory, so the rename stays on one file system; a random name, so nobody can prepare it.
        string staging = Path.Combine(directory, ".okvm-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
        Directory.CreateDirectory(staging, OwnerOnlyDirectory);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            // The create mode is filtered by the umask: set it explicitly.
            File.SetUnixFileMode(staging, OwnerOnlyDirectory);
            string staged = Path.Combine(staging, "s");
            listener.Bind(new UnixDomainSocketEndPoint(staged));
            File.SetUnixFileMode(staged, mode);
            listener.Listen(backlog);
            beforePublish?.Invoke(staged);
            // Without overwrite File.Move fails when the path exists: another daemon that bound it meanwhile keeps it.
            File.Move(staged, path, overwrite: false);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }
}
