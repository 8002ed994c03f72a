using System.Diagnostics;
using OverlayKvm.Integration.Tests.E2e;
using T = OverlayKvm.Integration.Tests.Cluster.TwoHostVmTopology;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// The baseline beside a domain-migrate: the same live migration (hA → hB, same image, memory and loopback stream) of a
/// domain overlayd knows nothing of — not in the store, no group region, its agent never reached by a host. The guest
/// image's test domain always carries a private ivshmem device, which libvirt refuses to migrate: it is hot-detached
/// (before the clock starts), so the migrated domain has the same devices as vm2 while away from its region.
/// </summary>
internal static class PlainVmMigration
{
    private const string Name = "vmmplain";

    /// <summary>Boots it on hA, migrates it to hB; returns virsh migrate's wall time and libvirt's downtime figure.</summary>
    public static async Task<(TimeSpan Took, string Downtime)> RunAsync(T t, Action<string> log)
    {
        var spec = new TestDomainSpec(t.Image)
        {
            Name = Name,
            LibvirtUri = t.LibvirtA.Uri,
            ExtraCmdline = $"overlaykvm.agent=\"{T.AgentArgs}\"",
            MemoryMiB = 384,
        };
        await using var domain = await TestDomain.DefineAsync(spec, log);
        await domain.StartAsync();
        await domain.Serial.WaitForLineAsync("overlaykvm-init: starting overlay-agent", TimeSpan.FromSeconds(240));
        var device = Path.Combine(t.Work, Name + "-shmem.xml");
        await File.WriteAllTextAsync(device,
            $"<shmem name='{domain.ShmemName}'><model type='ivshmem-plain'/><size unit='M'>{spec.ShmemMiB}</size></shmem>");
        t.LibvirtA.Virsh("detach-device", Name, device, "--live");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (t.LibvirtA.Virsh("dumpxml", Name).Contains("<shmem", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Name}'s guest never released its ivshmem device within 60 s");
            await Task.Delay(200);
        }

        var watch = Stopwatch.StartNew();
        t.LibvirtA.Virsh("migrate", "--live", Name, t.LibvirtB.Uri, "--migrateuri", "tcp:127.0.0.1");
        var took = watch.Elapsed;
        domain.MovedTo(t.LibvirtB.Uri);
        return (took, DowntimeOf(t.LibvirtB, Name));
    }

    /// <summary>libvirt's "Total downtime" of the domain's last completed (incoming) migration on <paramref name="host"/>.</summary>
    public static string DowntimeOf(Migration.LibvirtHost host, string domain)
    {
        foreach (var line in host.Virsh("domjobinfo", "--completed", domain).Split('\n'))
            if (line.StartsWith("Total downtime:", StringComparison.Ordinal)) return line["Total downtime:".Length..].Trim();
        return "not reported";
    }
}
