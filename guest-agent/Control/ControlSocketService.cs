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
    private readonly AppCountedInWaiter _waiter;

    public ControlSocketService(IOptions<AgentOptions> options, AdapterManager adapters, StatBuilder stats, ILogger<ControlSocketService> logger)
    {
        _options = options.Value;
        _adapters = adapters;
        _stats = stats;
        _logger = logger;
        _waiter = new AppCountedInWaiter(adapters);
    }

    /// <summary>Upper bound of a wait-app request: a caller cannot park a connection here forever.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(10);

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
                    : await HandleAsync(line, stoppingToken).ConfigureAwait(false);
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

    /// <summary>Like <see cref="Handle(string)"/>, and serves wait-app, the one request that waits.</summary>
    internal async Task<ControlResponse> HandleAsync(string line, CancellationToken cancellationToken)
    {
        if (Parse(line, out ControlRequest? request) is { } invalid)
        {
            return invalid;
        }
        if (request!.Op != "wait-app")
        {
            return Handle(request);
        }
        if (string.IsNullOrEmpty(request.App))
        {
            return new ControlResponse(false, "wait-app: field 'app' is required");
        }
        if (request.TimeoutMs is not > 0 || TimeSpan.FromMilliseconds(request.TimeoutMs.Value) > MaxWait)
        {
            return new ControlResponse(false, $"wait-app {request.App}: field 'timeoutMs' must be 1..{(long)MaxWait.TotalMilliseconds}");
        }
        var timeout = TimeSpan.FromMilliseconds(request.TimeoutMs.Value);
        string name = (request.Group is null ? "" : request.Group + "/") + request.App;
        return await _waiter.WaitAsync(request.App, request.Group, timeout, cancellationToken).ConfigureAwait(false)
            ? new ControlResponse(true)
            : new ControlResponse(false, $"app {name} was not counted in within {timeout.TotalSeconds:0.#} s: is it in this VM's configuration from the host, " +
                "and its unit declared in /etc/overlay-agent/apps.d (or the app started with `overlay-agent run`)? See the agent's log.");
    }

    internal ControlResponse Handle(string line) => Parse(line, out ControlRequest? request) ?? Handle(request!);

    private static ControlResponse? Parse(string line, out ControlRequest? request)
    {
        try
        {
            request = JsonSerializer.Deserialize(line, AgentJsonContext.Default.ControlRequest);
        }
        catch (JsonException ex)
        {
            request = null;
            return new ControlResponse(false, $"request is not valid JSON: {ex.Message}");
        }
        return request is null ? new ControlResponse(false, "request is JSON null") : null;
    }

    private ControlResponse Handle(ControlRequest request)
    {
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
                    return new ControlResponse(false, $"op '{request.Op}' is unknown (register, unregister, stat, rules, wait-app)");
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
