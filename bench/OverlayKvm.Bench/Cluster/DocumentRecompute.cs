using System.Diagnostics;
using System.Net;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Store;

namespace OverlayKvm.Bench.Cluster;

/// <summary>
/// Documents recomputed per change at 10,000 apps on 3 hosts (issue 11). 100 groups of 100 apps; each group lives on
/// 10 domains of one host (placement keeps a group together), 100 domains per host. One change = one app-define in
/// one group. Every overlayd reacts to every change it sees (its own or, through the store's watch, another host's)
/// the way its channel supervisor does: each local domain's document is rebuilt (a consistent read plus a build) and
/// pushed only when its digest changed. Prints, per change and per host: documents recomputed, documents that
/// actually changed (pushed), and the time the rebuilds take on this machine.
/// Usage: OverlayKvm.Bench document-recompute [CHANGES]
/// </summary>
internal static class DocumentRecompute
{
    private const int Hosts = 3, DomainsPerHost = 100, GroupCount = 100, AppsPerGroup = 100, DomainsPerGroup = 10;

    public static int Run(string[] args)
    {
        int changes = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 20;
        var directory = Directory.CreateTempSubdirectory("okvm-bench-recompute-").FullName;
        try
        {
            using var store = new SqliteOverlayStore(Path.Combine(directory, "overlay.db"), "h0");
            Seed(store);
            var domainsByHost = new List<string>[Hosts];
            for (int h = 0; h < Hosts; h++) domainsByHost[h] = [];
            foreach (var d in store.ListDomains()) domainsByHost[int.Parse(d.Host[1..], System.Globalization.CultureInfo.InvariantCulture)].Add(d.Name);

            // What each host's agents currently run (digest per domain).
            var pushed = new Dictionary<string, string>(StringComparer.Ordinal);
            var snapshot = store.ReadSnapshot();
            foreach (var d in snapshot.Domains) pushed[d.Name] = DomainConfigBuilder.Build(snapshot, d.Name, includeSecrets: true).Digest;
            Console.WriteLine($"{snapshot.Applications.Count} apps, {GroupCount} groups, {snapshot.Domains.Count} domains on {Hosts} hosts ({DomainsPerHost} each)");

            long recomputed = 0, changed = 0;
            var perHostTimes = new List<double>();
            var builder = new DomainConfigBuilder(store);
            for (int c = 0; c < changes; c++)
            {
                int group = (c * 37) % GroupCount;
                store.DefineApplication($"g{group}", $"extra{c}", null, DomainOf(group, c), []);
                for (int h = 0; h < Hosts; h++)
                {
                    var clock = Stopwatch.StartNew();
                    foreach (var domain in domainsByHost[h])
                    {
                        // As DomainChannelClient does: its own consistent read, then the build, then the digest check.
                        var digest = builder.Build(domain, includeSecrets: true).Digest;
                        recomputed++;
                        if (pushed[domain] != digest)
                        {
                            pushed[domain] = digest;
                            changed++;
                        }
                    }
                    perHostTimes.Add(clock.Elapsed.TotalMilliseconds);
                }
            }

            perHostTimes.Sort();
            Console.WriteLine($"per change: {recomputed / (double)changes:0} documents recomputed ({recomputed / (double)changes / Hosts:0} per host), " +
                              $"{changed / (double)changes:0.0} changed and pushed");
            Console.WriteLine($"rebuild of one host's {DomainsPerHost} documents per change: p50 {Percentile(perHostTimes, 0.50):0} ms, p99 {Percentile(perHostTimes, 0.99):0} ms ({changes} changes)");
            return 0;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void Seed(IOverlayStore store)
    {
        for (int h = 0; h < Hosts; h++)
        {
            store.UpsertHost($"h{h}", IPAddress.Parse($"192.168.77.{h + 1}"), DomainsPerHost);
            for (int d = 0; d < DomainsPerHost; d++)
                store.UpsertDomain($"vm{h}-{d}", Guid.NewGuid(), $"h{h}", IPAddress.Parse($"10.{70 + h}.{d / 250}.{1 + (d % 250)}"));
        }

        for (int g = 0; g < GroupCount; g++)
        {
            store.DefineGroup($"g{g}", IPNetwork.Parse($"10.{100 + g}.0.0/16"), ProtectionLevel.Sealed);
            for (int a = 0; a < AppsPerGroup; a++) store.DefineApplication($"g{g}", $"a{a}", null, DomainOf(g, a), []);
        }
    }

    // Group g lives on 10 domains of host g % 3 (placement keeps a group on one host while it has room).
    private static string DomainOf(int group, int app) => $"vm{group % Hosts}-{(group / Hosts * DomainsPerGroup + app % DomainsPerGroup) % DomainsPerHost}";

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
