using System.Net.Sockets;

namespace OverlayKvm.GuestAgent.Channel;

/// <summary>Test transport: listens on a unix socket and accepts the host side (one connection at a time).</summary>
internal sealed class UnixListenerTransport : IHostChannelTransport, IDisposable
{
    private readonly string _path;
    private Socket? _listener;

    public UnixListenerTransport(string path)
    {
        _path = path;
    }

    public async Task<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        if (_listener is null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_path))!);
            File.Delete(_path);
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(_path));
            File.SetUnixFileMode(_path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(1);
            _listener = listener;
        }
        Socket client = await _listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
        return new NetworkStream(client, ownsSocket: true);
    }

    public string Describe() => "unix:" + _path;

    public void Dispose()
    {
        _listener?.Dispose();
        File.Delete(_path);
    }
}
