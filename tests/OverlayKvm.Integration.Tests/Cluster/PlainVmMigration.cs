using System.Diagnostics;
using System.Globalization;
using OverlayKvm.Integration.Tests.E2e;
using T = OverlayKvm.Integration.Tests.Cluster.TwoHostVmTopology;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// The baseline beside a domain-migrate: the same live migration (hA → hB, same image, memory and loopback stream) of a
/// domain overlayd knows nothing of — not in the store, no group region, its agent never reached by a host — under the
/// same app-level measurement. vm1 (its rounds, <c>overlaykvm.plainip</c>) runs cluster-apps.sh's plain_phase once this
/// domain serves: a 1 ms echo stream alone to app server while the caller moves vm2 (quiet overlay), one alone to this
/// domain while it moves hA → hB (quiet plain), then the stream beside fetches of its file over the underlay while it
/// moves back hB → hA (the TCP stall). The guest image's test domain
/// always carries a private ivshmem device, which libvirt refuses to migrate: it is hot-detached (before the clock
/// starts), so the migrated domain has the same devices as vm2 while away from its region; the guest serves only once
/// the device is gone (role=plain), so vm1 starts its stream only when the domain can migrate.
/// </summary>
internal static class PlainVmMigration
{
    private const string Name = "vmmplain";

    /// <summary>One virsh migrate --live: its wall time, libvirt's downtime figure, and its span on vm1's console clock.</summary>
    public sealed record Move(TimeSpan Took, string Downtime, TimeSpan From, TimeSpan To);

    /// <param name="QuietOverlay">vm1's console clock span of the caller's move of vm2 under the quiet overlay stream.</param>
    /// <param name="Quiet">hA → hB under the quiet plain stream.</param>
    /// <param name="Loaded">hB → hA under the stream and fetches.</param>
    /// <param name="Begin">vm1's "plain begin" line: its stream and fetches started.</param>
    /// <param name="End">vm1's "plain end" line.</param>
    public sealed record Run((TimeSpan From, TimeSpan To) QuietOverlay, Move Quiet, Move Loaded, TimeSpan Begin, TimeSpan End);

    /// <summary>
    /// Boots it on hA; once vm1's quiet overlay stream runs, calls <paramref name="moveVm2"/> (2 s into it); once the quiet
    /// plain stream runs, migrates it to hB (2 s in); once vm1 fetched 1 MiB of its file, back to hA; waits for vm1's phase to end.
    /// </summary>
    public static async Task<Run> RunAsync(T t, SerialLineClock vm1, Action<string> log, Func<Task> moveVm2)
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
        await vm1.WaitAsync("vm-scenario: ping overlay-quiet begin", TimeSpan.FromSeconds(300));
        await Task.Delay(TimeSpan.FromSeconds(2));
        var quietOverlayFrom = vm1.Now;
        await moveVm2();
        var quietOverlay = (quietOverlayFrom, vm1.Now);

        await vm1.WaitAsync("vm-scenario: ping plain-quiet begin", TimeSpan.FromSeconds(120));
        await Task.Delay(TimeSpan.FromSeconds(2));
        var quiet = Migrate(t.LibvirtA, t.LibvirtB, vm1, log);
        domain.MovedTo(t.LibvirtB.Uri);

        var begin = await vm1.WaitAsync("vm-scenario: plain begin", TimeSpan.FromSeconds(120));
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (ProgressLines.Bytes(vm1, begin.At) < 1 << 20)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"vm1 fetched less than 1 MiB from {Name} within 60 s of its plain phase");
            await Task.Delay(50);
        }

        var loaded = Migrate(t.LibvirtB, t.LibvirtA, vm1, log);
        domain.MovedTo(t.LibvirtA.Uri);
        var end = await vm1.WaitAsync("vm-scenario: plain end", TimeSpan.FromSeconds(240));
        return new Run(quietOverlay, quiet, loaded, begin.At, end.At);
    }

    private static Move Migrate(Migration.LibvirtHost from, Migration.LibvirtHost to, SerialLineClock vm1, Action<string> log)
    {
        var start = vm1.Now;
        var watch = Stopwatch.StartNew();
        from.Virsh("migrate", "--live", Name, to.Uri, "--migrateuri", "tcp:127.0.0.1");
        var took = watch.Elapsed;
        var end = vm1.Now;
        log($"virsh migrate --live {Name} {from.Uri} -> {to.Uri}: {took.TotalSeconds:F2} s");
        return new Move(took, DowntimeOf(to, Name), start, end);
    }

    /// <summary>libvirt's "Total downtime" of the domain's last completed (incoming) migration on <paramref name="host"/>.</summary>
    public static string DowntimeOf(Migration.LibvirtHost host, string domain)
    {
        foreach (var line in host.Virsh("domjobinfo", "--completed", domain).Split('\n'))
            if (line.StartsWith("Total downtime:", StringComparison.Ordinal)) return line["Total downtime:".Length..].Trim();
        return "not reported";
    }
}
