using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.GuestAgent.Hosting;
using OverlayKvm.GuestAgent.Tun;

namespace OverlayKvm.GuestAgent.Control;

/// <summary>
/// The agent's local control socket (unix, mode 0600: root only, like the adapters it changes): register and
/// unregister app processes (R0.8) and read counters (R0.10). One JSON object per line, at most
/// <see cref="MaxRequestBytes"/> per request; bad requests get an error response, never a crash. Never on the
/// packet path.
/// </summary>
internal sealed partial class ControlSocketService : BackgroundService
{
    public const int MaxRequestBytes = 16 * 1024;
    private readonly AgentOptions _options;
    private readonly AdapterManager _adapters;
    private readonly StatBuilder _stats;
    private readonly ILogger<ControlSocketService> _logger;

    public ControlSocketService(IOptions<AgentOptions> options, AdapterManager adapters, StatBuilder stats, ILogger<ControlSocketService> logger)
    {
        _options = options.Value;
        _adapters = adapters;
        _stats = stats;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        string path = _options.ControlSocket;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.Delete(path);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        listener.Listen(16);
        Log.Listening(_logger, path);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Socket client = await listener.AcceptAsync(stoppingToken).ConfigureAwait(false);
                _ = ServeAsync(client, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            File.Delete(path);
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken stoppingToken)
    {
        using (client)
        {
            try
            {
                await using var stream = new NetworkStream(client, ownsSocket: false);
                string? line = await ReadLineBoundedAsync(stream, stoppingToken).ConfigureAwait(false);
                ControlResponse response = line is null
                    ? new ControlResponse(false, $"request larger than {MaxRequestBytes} bytes or not terminated by a newline")
                    : Handle(line);
                byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(response, AgentJsonContext.Default.ControlResponse);
                await stream.WriteAsync(bytes, stoppingToken).ConfigureAwait(false);
                await stream.WriteAsync("\n"u8.ToArray(), stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
            {
                Log.ClientFailed(_logger, ex.Message);
            }
        }
    }

    internal ControlResponse Handle(string line)
    {
        ControlRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(line, AgentJsonContext.Default.ControlRequest);
        }
        catch (JsonException ex)
        {
            return new ControlResponse(false, $"request is not valid JSON: {ex.Message}");
        }
        if (request is null)
        {
            return new ControlResponse(false, "request is JSON null");
        }
        try
        {
            switch (request.Op)
            {
                case "register":
                {
                    var (app, pid) = RequireAppAndPid(request);
                    var (appCount, adapterCount, device) = _adapters.Register(app, request.Group, pid);
                    return new ControlResponse(true, AppCount: appCount, AdapterCount: adapterCount, Device: device);
                }
                case "unregister":
                {
                    var (app, pid) = RequireAppAndPid(request);
                    var (appCount, adapterCount) = _adapters.Unregister(app, request.Group, pid);
                    return new ControlResponse(true, AppCount: appCount, AdapterCount: adapterCount);
                }
                case "stat":
                    return new ControlResponse(true, Stat: _stats.Build());
                case "rules":
                    return new ControlResponse(true, Rules: _stats.Rules());
                default:
                    return new ControlResponse(false, $"op '{request.Op}' is unknown (register, unregister, stat, rules)");
            }
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException or IpCommandException)
        {
            return new ControlResponse(false, ex.Message);
        }
    }

    private static (string App, int Pid) RequireAppAndPid(ControlRequest request)
    {
        if (string.IsNullOrEmpty(request.App))
        {
            throw new ArgumentException($"{request.Op}: field 'app' is required");
        }
        if (request.Pid is not > 0)
        {
            throw new ArgumentException($"{request.Op} {request.App}: field 'pid' must be a positive process id");
        }
        return (request.App, request.Pid.Value);
    }

    private static async Task<string?> ReadLineBoundedAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRequestBytes];
        int used = 0;
        while (used < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(used), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return null;
            }
            int newline = Array.IndexOf(buffer, (byte)'\n', used, n);
            used += n;
            if (newline >= 0)
            {
                return Encoding.UTF8.GetString(buffer, 0, newline);
            }
        }
        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Information, "control socket listening on {Path}")]
        public static partial void Listening(ILogger logger, string path);

        [LoggerMessage(21, LogLevel.Debug, "control client failed: {Reason}")]
        public static partial void ClientFailed(ILogger logger, string reason);
    }
}
