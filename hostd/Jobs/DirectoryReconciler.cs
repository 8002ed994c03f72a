using Microsoft.Extensions.Logging;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Engine;
using OverlayKvm.HostDaemon.Hosting;
using OverlayKvm.HostDaemon.Libvirt;

namespace OverlayKvm.HostDaemon.Jobs;

/// <summary>
/// Reconciles the directory with libvirt's view of the domains (issue 7's scheduled job; seed 004 R4.16 "node
/// offline"): libvirt's lifecycle events normally keep them in step, but an event can be missed (overlayd down,
/// libvirtd restarted). A domain of this host that is not running loses its engine registrations (so peers stop
/// choosing the engine for it); domains missing on either side are reported. The store itself is the operator's
/// record and is never changed here.
/// </summary>
internal sealed partial class DirectoryReconciler(
    IOverlayStore store, LocalHost host, LibvirtConnectionHolder holder, TimeProvider time, ILogger<DirectoryReconciler> logger, EngineRegistry? engine = null)
{
    private DirectoryReconciliation? _last;

    public DirectoryReconciliation? Last => Volatile.Read(ref _last);

    public DirectoryReconciliation Run()
    {
        var mine = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var domain in store.ListDomains())
        {
            if (string.Equals(domain.Host, host.Name, StringComparison.Ordinal))
            {
                mine.Add(domain.Name);
            }
        }

        Dictionary<string, (bool Active, bool Ours)>? seen = null;
        if (holder.IsConnected)
        {
            try
            {
                seen = holder.Use(ReadLibvirt);
            }
            catch (Exception ex) when (ex is LibvirtUnavailableException or LibvirtException)
            {
                Log.LibvirtFailed(logger, ex.Message);
            }
        }

        var running = new List<string>();
        var stopped = new List<string>();
        var missing = new List<string>();
        var unrecorded = new List<string>();
        int released = 0;
        if (seen is not null)
        {
            foreach (var name in mine)
            {
                if (!seen.TryGetValue(name, out var state))
                {
                    missing.Add(name);
                }
                else if (state.Active)
                {
                    running.Add(name);
                }
                else
                {
                    stopped.Add(name);
                }
            }

            foreach (var (name, state) in seen)
            {
                if (state.Active && state.Ours && !mine.Contains(name) && store.GetDomain(name) is null)
                {
                    unrecorded.Add(name);
                }
            }

            foreach (var name in stopped)
            {
                released += engine?.RemoveDomain(name) ?? 0;
            }

            foreach (var name in missing)
            {
                released += engine?.RemoveDomain(name) ?? 0;
            }
        }

        unrecorded.Sort(StringComparer.Ordinal);
        var report = new DirectoryReconciliation(time.GetUtcNow(), seen is not null, running, stopped, missing, unrecorded, released);
        Volatile.Write(ref _last, report);
        if (missing.Count > 0 || unrecorded.Count > 0 || released > 0)
        {
            Log.Differences(logger, string.Join(',', missing), string.Join(',', unrecorded), string.Join(',', stopped), released);
        }

        return report;
    }

    private static Dictionary<string, (bool Active, bool Ours)> ReadLibvirt(LibvirtConnection connection)
    {
        var result = new Dictionary<string, (bool, bool)>(StringComparer.Ordinal);
        foreach (var domain in connection.ListAllDomains())
        {
            using (domain)
            {
                bool ours = domain.GetMetadata(OverlayMetadata.NamespaceUri) is not null;
                result[domain.Name] = (domain.IsActive, ours);
            }
        }

        return result;
    }

    private static partial class Log
    {
        [LoggerMessage(90, LogLevel.Warning, "directory reconciliation: libvirt could not be read: {Reason}")]
        public static partial void LibvirtFailed(ILogger logger, string reason);

        [LoggerMessage(91, LogLevel.Warning, "directory reconciliation: missing in libvirt [{Missing}], running but not in the directory [{Unrecorded}], stopped [{Stopped}]; {Released} engine registrations released")]
        public static partial void Differences(ILogger logger, string missing, string unrecorded, string stopped, int released);
    }
}
