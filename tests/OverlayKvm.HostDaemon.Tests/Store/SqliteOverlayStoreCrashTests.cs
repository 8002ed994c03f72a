using System.Diagnostics;
using Xunit.Abstractions;

namespace OverlayKvm.HostDaemon.Tests.Store;

/// <summary>
/// A writer process is killed with SIGKILL in the middle of a burst of defines. The database must reopen,
/// pass SQLite's integrity check, hold every acknowledged change, and hold only whole changes: the store
/// version equals the number of committed changes and every row agrees with it.
/// </summary>
public sealed class SqliteOverlayStoreCrashTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task KillDuringWriteBurst_ReopensWithEveryAcknowledgedChangeAndNothingHalfWritten()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_temp.DatabasePath)!);
        var acknowledged = new List<(long Version, string Name, string Address)>();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(typeof(StoreCrashWriter).Assembly.Location);
        start.Environment[StoreCrashWriter.DatabaseVariable] = _temp.DatabasePath;

        using var child = Process.Start(start) ?? throw new InvalidOperationException("could not start 'dotnet exec' for the crash writer");
        var stderr = child.StandardError.ReadToEndAsync();
        try
        {
            var killAfter = 150 + Random.Shared.Next(100);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(45));
            while (acknowledged.Count < killAfter)
            {
                var line = await child.StandardOutput.ReadLineAsync(timeout.Token)
                    ?? throw new InvalidOperationException($"crash writer ended early (exit {WaitExit(child)}): {await stderr}");
                acknowledged.Add(ParseAck(line));
            }

            child.Kill(); // SIGKILL on Linux: no finalizers, no checkpoint, no clean close.
            await child.WaitForExitAsync(timeout.Token);

            // Lines already written before the kill are acknowledgements too.
            while (await child.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("ack ", StringComparison.Ordinal))
                {
                    acknowledged.Add(ParseAck(line));
                }
            }
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
                child.WaitForExit();
            }
        }

        output.WriteLine($"killed after {acknowledged.Count} acknowledged changes (exit code {child.ExitCode})");
        Assert.Equal(137, child.ExitCode);

        using var store = _temp.Open();
        Assert.Equal("ok", _temp.QueryScalar("PRAGMA integrity_check"));
        Assert.Equal(0L, _temp.QueryScalar("SELECT COUNT(*) FROM pragma_foreign_key_check"));

        var version = store.CurrentVersion();
        var apps = store.ListApplications(StoreCrashWriter.GroupName);
        output.WriteLine($"reopened at version {version} with {apps.Count} apps");

        // At most the one change in flight at the kill may have committed without its "ack" being printed.
        Assert.InRange(version, acknowledged[^1].Version, acknowledged[^1].Version + 1);
        // Version = committed changes: one group define plus one define per stored app, each stamped with its own version.
        Assert.Equal(version, 1 + apps.Count);
        Assert.Equal(Enumerable.Range(2, apps.Count).Select(v => (long)v), apps.Select(a => a.Version).Order());
        Assert.Equal(version, store.GetGroup(StoreCrashWriter.GroupName)!.Version);

        var stored = apps.ToDictionary(a => a.Name);
        foreach (var (ackVersion, name, address) in acknowledged.Skip(1))
        {
            Assert.True(stored.TryGetValue(name, out var app), $"acknowledged app {name} (version {ackVersion}) is missing");
            Assert.Equal(address, app.Address.ToString());
            Assert.Equal(ackVersion, app.Version);
            Assert.Equal(2, app.Manifest.Count);
        }

        Assert.Equal(apps.Count, apps.Select(a => a.Address).Distinct().Count());
        Assert.All(apps, a => Assert.NotNull(store.GetDomain(a.Domain)));

        // And the store keeps working after the crash.
        var next = store.DefineApplication(StoreCrashWriter.GroupName, "after-crash", null, "vm0", []);
        Assert.Equal(version + 1, next.Version);
    }

    private static (long Version, string Name, string Address) ParseAck(string line)
    {
        var parts = line.Split(' ');
        if (parts.Length < 3 || parts[0] != "ack")
        {
            throw new InvalidOperationException($"unexpected line from crash writer: '{line}'");
        }

        return (long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), parts[2], parts.Length > 3 ? parts[3] : "");
    }

    private static string WaitExit(Process process) => process.WaitForExit(5000) ? process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "still running";
}
