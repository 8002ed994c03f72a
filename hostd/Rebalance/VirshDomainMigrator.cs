using System.Diagnostics;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Hosting;
using OverlayKvm.HostDaemon.Libvirt;

namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>
/// <c>virsh -c SOURCE migrate --live DOMAIN DESTINATION [--migrateuri M]</c>, the
/// operator's own command, so a refusal reads as libvirt's (for example a domain that still has ivshmem devices:
/// libvirt refuses those, docs/migration.md). The same settings as <c>domain-migrate</c>: this host is Libvirt:Uri,
/// another host Libvirt:PeerUris:HOST or else <c>qemu+ssh://ADDRESS/system</c> with its inventory address; the stream
/// goes to Libvirt:MigrationUris:DESTINATION when set. Arguments go to virsh as a list (no shell), and every name was
/// checked by the store's name rules.
/// </summary>
internal sealed class VirshDomainMigrator(
    IOverlayStore store,
    LocalHost host,
    IOptionsMonitor<LibvirtOptions> libvirt) : IDomainMigrator
{
    /// <summary>A TCG guest of a few hundred MiB migrates in seconds over loopback; a stuck migration is given up.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    public async Task MigrateAsync(string domain, string fromHost, string toHost, CancellationToken cancellationToken)
    {
        LibvirtOptions o = libvirt.CurrentValue;
        var psi = new ProcessStartInfo("virsh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])["-c", UriOf(fromHost, o), "migrate", "--live", domain, UriOf(toHost, o)])
        {
            psi.ArgumentList.Add(a);
        }
        if (o.MigrationUris.TryGetValue(toHost, out var migrateUri))
        {
            psi.ArgumentList.Add("--migrateuri");
            psi.ArgumentList.Add(migrateUri);
        }
        using var process = Process.Start(psi) ?? throw new DomainMigrationException($"domain {domain}: virsh could not be started");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new DomainMigrationException(cancellationToken.IsCancellationRequested
                ? $"domain {domain}: migration {fromHost} → {toHost} cancelled"
                : $"domain {domain}: migration {fromHost} → {toHost} did not finish within {Timeout.TotalMinutes:0} min");
        }
        await stdout.ConfigureAwait(false);
        string error = (await stderr.ConfigureAwait(false)).Trim();
        if (process.ExitCode != 0)
        {
            throw new DomainMigrationException($"domain {domain}: virsh migrate {fromHost} → {toHost} failed (exit {process.ExitCode}): {Clip(error)}");
        }
    }

    private string UriOf(string hostName, LibvirtOptions o)
    {
        if (hostName == host.Name)
        {
            return o.Uri;
        }
        if (o.PeerUris.TryGetValue(hostName, out var uri))
        {
            return uri;
        }
        foreach (var h in store.ListHosts())
        {
            if (h.Name == hostName)
            {
                return $"qemu+ssh://{h.Address}/system";
            }
        }
        throw new DomainMigrationException($"host {hostName}: not in the inventory and no Libvirt:PeerUris:{hostName} configured");
    }

    private static string Clip(string s) => s.Length > 400 ? s[..400] + "..." : s;
}
