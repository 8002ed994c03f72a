using System.Diagnostics;
using System.Text.Json;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;
using OverlayKvm.Integration.Tests.Libvirt;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>
/// Issue 13, show 4: dpkg -i of a newer build over the installed one while two namespace "VMs" driven by the
/// packaged overlayd move 16 MiB between their apps. overlayd restarts on the new binary, the store keeps its
/// groups and its version number, and the transfer — which keeps flowing while dpkg runs — arrives intact (same
/// SHA-256). Purged afterwards, also on failure.
/// </summary>
[Collection(LibvirtdCollection.Name)]
public sealed class UpgradeTests(ITestOutputHelper output)
{
    private const int TransferBytes = 16 << 20;

    [Fact]
    public async Task Upgrade_NewerBuildOverOldDuringTransfer_RestartsOverlaydKeepsStoreAndTraffic()
    {
        Prerequisites.RequireRootAndTools("dpkg-deb", "start-stop-daemon", "ip");
        var (oldHost, _) = await DebPackages.BuildAsync("0.1.0");
        var (newHost, _) = await DebPackages.BuildAsync("0.1.1");
        await Dpkg.PurgeIfPresentAsync();
        PackagedTwoVms? vms = null;
        try
        {
            await Dpkg.RunAsync("-i", oldHost);
            Assert.Equal("0.1.0", await Dpkg.InstalledVersionAsync(DebPackages.Host));
            var ctl = new Overlayctl(InstalledOverlayd.Socket);
            await ctl.OkAsync("group-define", "pkup", "--cidr", "10.78.0.0/16");
            // A third VM of the group that never connects: its app must survive the upgrade in the store. It needs an
            // underlay address, or the group's documents would be refused by the running agents.
            await ctl.OkAsync("domain-define", "pkupvm", "--address", "10.95.0.9");
            await ctl.OkAsync("app-define", "pkup", "kept", "--domain", "pkupvm", "--address", "10.78.0.9");
            vms = await PackagedTwoVms.StartAsync(ctl, "pkup");
            var before = await StoreVersionAsync(ctl);
            var oldPid = InstalledOverlayd.Pid() ?? throw new InvalidOperationException("overlayd 0.1.0 is not running");

            // The upgrade starts once the first MiB has arrived. Until it ends the receiver takes at most 1 MiB per
            // 5 s (the sender blocks on TCP's window meanwhile), so the stream keeps flowing through dpkg's run (~90 s
            // on a busy machine); the last MiB waits for the upgrade to finish and so crosses over to the new overlayd.
            Task<string>? upgrade = null;
            long receivedAtStart = 0, receivedAtEnd = 0;
            var clock = Stopwatch.StartNew();
            TimeSpan upgradeTook = default;
            var (sent, received) = await TcpTransfer.RunAsync(vms.B, PackagedTwoVms.ServerAddress, vms.A, PackagedTwoVms.ClientAddress,
                TcpTransfer.MakeData(TransferBytes), TimeSpan.FromMinutes(8), async total =>
                {
                    if (upgrade is null)
                    {
                        receivedAtStart = total;
                        clock.Restart();
                        upgrade = Task.Run(async () =>
                        {
                            var log = await Dpkg.RunAsync("-i", newHost);
                            upgradeTook = clock.Elapsed;
                            return log;
                        });
                        return;
                    }
                    if (upgrade.IsCompleted) return;
                    if (total >= TransferBytes - (1 << 20)) await upgrade; else await Task.WhenAny(upgrade, Task.Delay(5000));
                    if (upgrade.IsCompleted && receivedAtEnd == 0) receivedAtEnd = total;
                });
            Assert.NotNull(upgrade);
            output.WriteLine(await upgrade);
            output.WriteLine($"dpkg -i 0.1.1 took {upgradeTook.TotalSeconds:F1} s; the stream had {receivedAtStart >> 20} MiB when it began, " +
                $"{receivedAtEnd >> 20} MiB when it ended, {TransferBytes >> 20} MiB in all");

            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
            // Overlap, not an amount: the receiver is paced at 1 MiB per 5 s, so a quick dpkg (8 s on a quiet machine)
            // sees under 2 MiB, a 4.8 s one under 1 MiB; what matters is that data flowed during the upgrade and that some
            // was still to come after it.
            Assert.True(receivedAtEnd - receivedAtStart >= 256 << 10 && receivedAtEnd < TransferBytes,
                $"{(receivedAtEnd - receivedAtStart) >> 10} KiB arrived while dpkg -i ran and {receivedAtEnd >> 10} KiB by its end (of {TransferBytes >> 10}): the transfer did not overlap the upgrade");
            Assert.Equal("0.1.1", await Dpkg.InstalledVersionAsync(DebPackages.Host));
            var newPid = InstalledOverlayd.Pid() ?? throw new InvalidOperationException("no overlayd runs after the upgrade");
            Assert.NotEqual(oldPid, newPid);
            Assert.False(InstalledOverlayd.Running(oldPid), $"the old overlayd (pid {oldPid}) still runs");
            var after = await StoreVersionAsync(ctl);
            output.WriteLine($"store version {before} before, {after} after the upgrade; overlayd pid {oldPid} -> {newPid}");
            Assert.Equal(before, after);
            Assert.Contains("kept", await ctl.OkAsync("app-list", "--group", "pkup"));
            // The new overlayd found the agents again through their channel sockets.
            await vms.WaitConfiguredAsync();
        }
        catch
        {
            if (vms is not null) output.WriteLine(vms.Logs());
            output.WriteLine(await InstalledOverlayd.LogAsync());
            throw;
        }
        finally
        {
            if (vms is not null) await vms.DisposeAsync();
            await Dpkg.PurgeIfPresentAsync();
        }
    }

    private static async Task<long> StoreVersionAsync(Overlayctl ctl)
    {
        var doc = await ctl.JsonAsync("version");
        foreach (var p in doc.EnumerateObject())
        {
            if (p.Name.Contains("store", StringComparison.OrdinalIgnoreCase) && p.Value.ValueKind == JsonValueKind.Number) return p.Value.GetInt64();
            if (p.Value.ValueKind == JsonValueKind.Object)
                foreach (var q in p.Value.EnumerateObject())
                    if (q.Name.Contains("store", StringComparison.OrdinalIgnoreCase) && q.Value.ValueKind == JsonValueKind.Number) return q.Value.GetInt64();
        }
        throw new InvalidOperationException($"overlayctl version --json shows no store version: {doc}");
    }
}
