using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.E2e;

namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>
/// The two .deb files built by packaging/deb/build.sh, once per version per test run (build.sh caches its
/// publishes and packages by their inputs, so an unchanged tree costs seconds).
/// </summary>
internal static class DebPackages
{
    public const string Host = "overlaykvm-host";
    public const string Guest = "overlay-agent";
    private static readonly Dictionary<string, Task<(string Host, string Guest)>> Builds = new();

    public static Task<(string Host, string Guest)> BuildAsync(string version)
    {
        lock (Builds)
        {
            if (!Builds.TryGetValue(version, out var build))
            {
                build = RunBuildAsync(version);
                Builds[version] = build;
            }
            return build;
        }
    }

    private static async Task<(string Host, string Guest)> RunBuildAsync(string version)
    {
        var script = Path.Combine(RepoPaths.Root, "packaging", "deb", "build.sh");
        var result = await ProcessResult.RunAsync(script, ["--version", version], timeout: TimeSpan.FromMinutes(15));
        if (result.ExitCode != 0) throw new InvalidOperationException($"packaging/deb/build.sh --version {version} failed: {result}");
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var host = lines.Single(l => Path.GetFileName(l).StartsWith(Host + "_", StringComparison.Ordinal));
        var guest = lines.Single(l => Path.GetFileName(l).StartsWith(Guest + "_", StringComparison.Ordinal));
        return (host, guest);
    }
}
