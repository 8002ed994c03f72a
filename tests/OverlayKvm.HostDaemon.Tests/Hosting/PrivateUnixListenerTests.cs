using System.Net.Sockets;
using OverlayKvm.HostDaemon.Hosting;
using OverlayKvm.HostDaemon.Tests.Posix;

namespace OverlayKvm.HostDaemon.Tests.Hosting;

/// <summary>
/// Issue 14 item 10: the admin socket has its mode from the moment it is listening, and no other uid can connect
/// to it at any point — not while it is staged, not after it is published.
/// </summary>
public sealed class PrivateUnixListenerTests : IDisposable
{
    private const UnixFileMode Mode0660 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;
    private readonly string _dir = Directory.CreateTempSubdirectory("okvm-pul-").FullName;

    public PrivateUnixListenerTests()
    {
        // Like /run/overlaykvm: others may traverse it, so only the socket's own mode keeps them out.
        File.SetUnixFileMode(_dir, Mode0660 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Create_AtListen_ModeIsFinal_PathNotYetThere_NoOtherUidCanConnect()
    {
        string path = Path.Combine(_dir, "overlayd.sock");
        UnixFileMode? modeWhenListening = null;
        bool pathExistedWhenListening = true;
        SocketError? otherUidWhileStaged = null;

        using Socket listener = PrivateUnixListener.Create(path, Mode0660, beforePublish: staged =>
        {
            modeWhenListening = File.GetUnixFileMode(staged);
            pathExistedWhenListening = File.Exists(path);
            otherUidWhileStaged = ConnectAs(AsOtherUser.Nobody, staged);
        });

        Assert.Equal(Mode0660, modeWhenListening);
        Assert.False(pathExistedWhenListening, "the final path must appear only once the socket has its mode");
        Assert.Equal(SocketError.AccessDenied, otherUidWhileStaged);
        Assert.Equal(Mode0660, File.GetUnixFileMode(path));
        Assert.Equal(SocketError.AccessDenied, ConnectAs(AsOtherUser.Nobody, path));
        Assert.Equal(SocketError.Success, Connect(path));
        Assert.Equal([Path.GetFileName(path)], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Create_PathTaken_Throws_LeavesTheOtherSocketAndNoStagingDirectory()
    {
        string path = Path.Combine(_dir, "overlayd.sock");
        using Socket first = PrivateUnixListener.Create(path, Mode0660);

        Assert.ThrowsAny<IOException>(() => PrivateUnixListener.Create(path, Mode0660));

        Assert.Equal(SocketError.Success, Connect(path));
        Assert.Equal([Path.GetFileName(path)], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    private static SocketError ConnectAs(uint uid, string path)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        SocketError result = SocketError.SocketError;
        AsOtherUser.Run(uid, () => result = TryConnect(socket, path));
        return result;
    }

    private static SocketError Connect(string path)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        return TryConnect(socket, path);
    }

    private static SocketError TryConnect(Socket socket, string path)
    {
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return SocketError.Success;
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode;
        }
    }
}
