using System.Text.Json;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;
using OverlayKvm.Integration.Tests.Libvirt;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>
/// Issue 13, show 4 (in part): dpkg -i of a newer build over the installed one restarts overlayd on the new
/// binary and keeps the store — its groups and its version number. (The concurrent 16 MiB transfer between
/// namespace VMs driven by the packaged overlayd is not covered here.) Purged afterwards, also on failure.
/// </summary>
[Collection(LibvirtdCollection.Name)]
public sealed class UpgradeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Upgrade_NewerBuildOverOld_RestartsOverlaydAndKeepsTheStore()
    {
        Prerequisites.RequireRootAndTools("dpkg-deb", "start-stop-daemon");
        var (oldHost, _) = await DebPackages.BuildAsync("0.1.0");
        var (newHost, _) = await DebPackages.BuildAsync("0.1.1");
        await Dpkg.PurgeIfPresentAsync();
        try
        {
            await Dpkg.RunAsync("-i", oldHost);
            Assert.Equal("0.1.0", await Dpkg.InstalledVersionAsync(DebPackages.Host));
            await CtlAsync("group-define", "pkup", "--cidr", "10.78.0.0/16");
            await CtlAsync("app-define", "pkup", "kept", "--domain", "pkupvm");
            var before = await StoreVersionAsync();
            var oldPid = InstalledOverlayd.Pid() ?? throw new InvalidOperationException("overlayd 0.1.0 is not running");

            output.WriteLine(await Dpkg.RunAsync("-i", newHost));

            Assert.Equal("0.1.1", await Dpkg.InstalledVersionAsync(DebPackages.Host));
            var newPid = InstalledOverlayd.Pid() ?? throw new InvalidOperationException("no overlayd runs after the upgrade");
            Assert.NotEqual(oldPid, newPid);
            Assert.False(InstalledOverlayd.Running(oldPid), $"the old overlayd (pid {oldPid}) still runs");
            var after = await StoreVersionAsync();
            output.WriteLine($"store version {before} before, {after} after the upgrade; overlayd pid {oldPid} -> {newPid}");
            Assert.Equal(before, after);
            Assert.Contains("kept", await CtlAsync("app-list", "--group", "pkup"));
        }
        finally
        {
            await Dpkg.PurgeIfPresentAsync();
        }
    }

    private static async Task<string> CtlAsync(params string[] args)
    {
        var result = await ProcessResult.RunAsync(InstalledOverlayd.Overlayctl, args);
        if (result.ExitCode != 0) throw new InvalidOperationException($"overlayctl {string.Join(' ', args)}: {result}");
        return result.Stdout;
    }

    private static async Task<long> StoreVersionAsync()
    {
        using var doc = JsonDocument.Parse(await CtlAsync("version", "--json"));
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name.Contains("store", StringComparison.OrdinalIgnoreCase) && p.Value.ValueKind == JsonValueKind.Number) return p.Value.GetInt64();
            if (p.Value.ValueKind == JsonValueKind.Object)
                foreach (var q in p.Value.EnumerateObject())
                    if (q.Name.Contains("store", StringComparison.OrdinalIgnoreCase) && q.Value.ValueKind == JsonValueKind.Number) return q.Value.GetInt64();
        }
        throw new InvalidOperationException($"overlayctl version --json shows no store version: {doc.RootElement}");
    }
}
