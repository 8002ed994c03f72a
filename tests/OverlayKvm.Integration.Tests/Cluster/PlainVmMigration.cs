using System.Diagnostics;
using System.Globalization;
using OverlayKvm.Integration.Tests.E2e;
using T = OverlayKvm.Integration.Tests.Cluster.TwoHostVmTopology;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// The baseline beside a domain-migrate: the same live migration (hA → hB, same image, memory and loopback stream) of a
/// domain overlayd knows nothing of — not in the store, no group region, its agent never reached by a host — under the
/// same app-level measurement: vm1 (its rounds, <c>overlaykvm.plainip</c>) sends it the 1 ms echo stream and fetches its
/// file again and again over the underlay (cluster-apps.sh plain_phase) while it moves. The guest image's test domain
/// always carries a private ivshmem device, which libvirt refuses to migrate: it is hot-detached (before the clock
/// starts), so the migrated domain has the same devices as vm2 while away from its region; the guest serves only once
/// the device is gone (role=plain), so vm1 starts its stream only when the domain can migrate.
/// </summary>
internal static class PlainVmMigration
{
    private const string Name = "vmmplain";

    /// <param name="Took">virsh migrate's wall time.</param>
    /// <param name="Downtime">libvirt's downtime figure.</param>
    /// <param name="From">Host clock (vm1's console clock) when virsh migrate began.</param>
    /// <param name="To">... and when it returned.</param>
    /// <param name="Begin">vm1's "plain begin" line: its stream and fetches started.</param>
    /// <param name="End">vm1's "plain end" line.</param>
    public sealed record Run(TimeSpan Took, string Downtime, TimeSpan From, TimeSpan To, TimeSpan Begin, TimeSpan End);

    /// <summary>Boots it on hA, waits until vm1 streams to it and fetched 1 MiB of its file, migrates it to hB, waits for vm1's phase to end.</summary>
    public static async Task<Run> RunAsync(T t, SerialLineClock vm1, Action<string> log)
    {
        var spec = new TestDomainSpec(t.Image)
        {
            Name = Name,
            LibvirtUri = t.LibvirtA.Uri,
            ExtraCmdline = $"overlaykvm.ip={T.PlainVmIp}/24 overlaykvm.agent=\"{T.AgentArgs}\" overlaykvm.test=/bin/cluster-apps overlaykvm.role=plain " +
                $"overlaykvm.size={t.TransferBytes.ToString(CultureInfo.InvariantCulture)}",
            MemoryMiB = 384,
            Bridge = t.Underlay.Name,
            // Generated (vnetN): the destination refuses a tap name the source's still holds (both share one network namespace).
            TapName = null,
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
        await domain.Serial.WaitForLineAsync("vm-scenario: plain ready", TimeSpan.FromSeconds(120));
        // vm1 looks for it before each round: up to one round (an engine round of the transfer) later.
        var begin = await vm1.WaitAsync("vm-scenario: plain begin", TimeSpan.FromSeconds(300));
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (ProgressLines.Bytes(vm1, begin.At) < 1 << 20)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"vm1 fetched less than 1 MiB from {Name} within 60 s of its plain phase");
            await Task.Delay(50);
        }

        var from = vm1.Now;
        var watch = Stopwatch.StartNew();
        t.LibvirtA.Virsh("migrate", "--live", Name, t.LibvirtB.Uri, "--migrateuri", "tcp:127.0.0.1");
        var took = watch.Elapsed;
        var to = vm1.Now;
        domain.MovedTo(t.LibvirtB.Uri);
        log($"virsh migrate --live {Name} hA -> hB: {took.TotalSeconds:F2} s");
        var end = await vm1.WaitAsync("vm-scenario: plain end", TimeSpan.FromSeconds(240));
        return new Run(took, DowntimeOf(t.LibvirtB, Name), from, to, begin.At, end.At);
    }

    /// <summary>libvirt's "Total downtime" of the domain's last completed (incoming) migration on <paramref name="host"/>.</summary>
    public static string DowntimeOf(Migration.LibvirtHost host, string domain)
    {
        foreach (var line in host.Virsh("domjobinfo", "--completed", domain).Split('\n'))
            if (line.StartsWith("Total downtime:", StringComparison.Ordinal)) return line["Total downtime:".Length..].Trim();
        return "not reported";
    }
}
