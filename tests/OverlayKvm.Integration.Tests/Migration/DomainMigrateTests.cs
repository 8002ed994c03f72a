using System.Diagnostics;
using System.Text.Json;
using OverlayKvm.Integration.Tests.Harness;
using OverlayKvm.TestSupport;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Migration;

/// <summary>
/// Issue 15: <c>overlayctl domain-migrate</c> between two real libvirt daemons of the cluster. hA's overlayd has
/// vmB's agent leave the engine, migrates vmB live to hB's libvirt, hB's overlayd takes it over in the store and
/// plugs hB's region of the group into the running domain; traffic between the apps goes on. Moving it back then
/// needs the region unplugged, which this firmware-only guest never completes (no kernel answers the ACPI eject):
/// the move is refused with the reason, and vmB stays on hB, running, with its region. The guest side is a namespace
/// agent (no BAR to map): booted guests are Show 1/2's part.
/// </summary>
[Collection(LibvirtHostsCollection.Name)]
public sealed class DomainMigrateTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DomainMigrate_ToHB_DestinationOwnsItAndPlugsItsRegion_BackRefusedWhenTheGuestKeepsTheRegion()
    {
        await using var t = await TwoHostMigrationTopology.CreateAsync();
        try
        {
            var data = TcpTransfer.MakeData(256 << 10);
            await t.TransferAsync(data);

            var clock = Stopwatch.StartNew();
            JsonElement moved = await t.CtlA.JsonAsync("domain-migrate", "vmB", "--to", "hB");
            output.WriteLine($"domain-migrate returned after {clock.Elapsed.TotalSeconds:F2} s: {moved}");
            Assert.Equal(("hA", "hB", true), (moved.GetProperty("from").GetString(), moved.GetProperty("to").GetString(), moved.GetProperty("agentLeft").GetBoolean()));
            Assert.Equal(0, moved.GetProperty("regionsUnplugged").GetArrayLength()); // vmB started on hA without a region
            Assert.Contains("running", t.LibvirtB.Virsh("domstate", "vmB"));
            Assert.DoesNotContain("vmB", t.LibvirtA.Virsh("list", "--name"));

            // hB's overlayd saw the arrival: the store places vmB on hB, and hB's region of the group is plugged in.
            await Poll.UntilAsync(() => HostOf(t, "vmB") == "hB", TimeSpan.FromSeconds(30), "the store to place vmB on hB");
            await Poll.UntilAsync(() => t.LibvirtB.Virsh("dumpxml", "vmB").Contains($"<shmem name='overlaykvm-{TwoHostMigrationTopology.Group}'", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "hB's overlayd to plug its region into vmB", () => t.LibvirtB.Virsh("dumpxml", "vmB"));
            output.WriteLine($"placed on hB and region plugged {clock.Elapsed.TotalSeconds:F2} s after the command started");
            await ConfigApplied.WaitAsync(t.CtlA, t.AgentA);
            await t.TransferAsync(data);

            // Back to hA: the region must be unplugged first, and this guest never releases it.
            clock.Restart();
            var back = await t.CtlB.RunAsync("domain-migrate", "vmB", "--to", "hA");
            output.WriteLine($"back: {back} after {clock.Elapsed.TotalSeconds:F2} s");
            Assert.Equal(1, back.ExitCode);
            Assert.Contains("domain-migrate vmB: unplugging its engine regions failed: ", back.Stderr);
            Assert.Contains("the domain stays on this host with its regions", back.Stderr);
            Assert.Contains("running", t.LibvirtB.Virsh("domstate", "vmB"));
            Assert.Contains($"<shmem name='overlaykvm-{TwoHostMigrationTopology.Group}'", t.LibvirtB.Virsh("dumpxml", "vmB"));
            Assert.Equal("hB", HostOf(t, "vmB"));
            await t.TransferAsync(data);
        }
        catch
        {
            output.WriteLine(t.Logs());
            throw;
        }
    }

    private static string? HostOf(TwoHostMigrationTopology t, string domain) =>
        t.CtlA.JsonAsync("domain-list").GetAwaiter().GetResult().EnumerateArray()
            .Where(d => d.GetProperty("name").GetString() == domain).Select(d => d.GetProperty("host").GetString()).SingleOrDefault();
}
