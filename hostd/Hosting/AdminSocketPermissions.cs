using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OverlayKvm.HostDaemon.Hosting;

/// <summary>
/// Removes the admin socket file on a clean stop. Its mode is no longer set here: <see cref="PrivateUnixListener"/>
/// creates the socket with its mode before it can be reached (issue 14 item 10), so there is nothing to fix after
/// Kestrel started.
/// </summary>
internal sealed class AdminSocketPermissions : IHostedLifecycleService
{
    private readonly IOptions<DaemonOptions> _options;

    public AdminSocketPermissions(IOptions<DaemonOptions> options) => _options = options;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        try { File.Delete(_options.Value.Socket); }
        catch (IOException) { /* already gone: nothing of ours to clean */ }
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
