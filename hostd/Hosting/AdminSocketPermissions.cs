using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OverlayKvm.HostDaemon.Hosting;

/// <summary>
/// Sets the admin socket's mode once Kestrel has bound it, and removes the socket file on a clean stop.
/// Runs in <see cref="StartedAsync"/>: after every hosted service (Kestrel's included) started, and before
/// ApplicationStarted, where readiness is announced — so nobody is told "ready" while the mode is still the umask's.
/// </summary>
internal sealed class AdminSocketPermissions(IOptions<DaemonOptions> options) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        DaemonOptionsValidator.TryParseMode(options.Value.SocketMode, out var mode);
        AdminSocketPath.ApplyMode(options.Value.Socket, mode);
        return Task.CompletedTask;
    }

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        try { File.Delete(options.Value.Socket); }
        catch (IOException) { /* already gone: nothing of ours to clean */ }
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
