using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace OverlayKvm.HostDaemon.Hosting;

/// <summary>
/// sd_notify readiness: when <c>NOTIFY_SOCKET</c> is set (systemd Type=notify, or a test that wants to know when
/// the API answers) send <c>READY=1</c> once the host has started and <c>STOPPING=1</c> when it stops.
/// Ten lines of protocol do not warrant libsystemd.
/// </summary>
internal sealed partial class SystemdNotifier(IHostApplicationLifetime lifetime, ILogger<SystemdNotifier> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => Notify("READY=1\nSTATUS=serving"));
        lifetime.ApplicationStopping.Register(() => Notify("STOPPING=1"));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Notify(string state)
    {
        var target = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(target)) return;
        // A leading '@' names a socket in the abstract namespace (a leading NUL byte on the wire).
        var path = target[0] == '@' ? "\0" + target[1..] : target;
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send(Encoding.UTF8.GetBytes(state));
        }
        catch (SocketException ex)
        {
            Log.NotifyFailed(logger, target, ex.SocketErrorCode);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "sd_notify to {Target} failed: {Error}")]
        public static partial void NotifyFailed(ILogger logger, string target, SocketError error);
    }
}
