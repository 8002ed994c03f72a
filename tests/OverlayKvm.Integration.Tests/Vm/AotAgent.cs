using System.Security.Cryptography;
using System.Text;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.E2e;

namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>
/// The guest agent published with Native AOT (a JIT build takes seconds per start under TCG, see
/// ENVIRONMENT.md), cached by the hash of its inputs (guest-agent/ and core/ sources, the repository's build
/// props), so a test run publishes at most once and unchanged sources publish never. The directory holds the binary
/// and the libsodium.so its publish writes beside it (AEGIS-256 groups; Debian 12's 1.0.18 lacks AEGIS), and is
/// complete only with both: packaging/guest-image/build.sh takes the library from beside the binary.
/// </summary>
internal static class AotAgent
{
    private static readonly string CacheDir = Path.Combine(GuestImage.CacheRoot, "agent-aot");
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static async Task<string> PublishAsync(Action<string> log)
    {
        await Gate.WaitAsync();
        try
        {
            var hash = InputHash();
            var dir = Path.Combine(CacheDir, hash);
            var binary = Path.Combine(dir, "overlay-agent");
            var library = Path.Combine(dir, "libsodium.so");
            if (File.Exists(binary) && File.Exists(library))
            {
                log($"Native AOT agent up to date ({binary})");
                return binary;
            }
            Directory.CreateDirectory(CacheDir);
            var staging = Path.Combine(CacheDir, "publish-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
            Directory.CreateDirectory(staging);
            try
            {
                var project = Path.Combine(RepoPaths.Root, "guest-agent", "OverlayKvm.GuestAgent.csproj");
                var watch = System.Diagnostics.Stopwatch.StartNew();
                var result = await ProcessResult.RunAsync("dotnet",
                    ["publish", project, "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", staging, "-nologo"],
                    timeout: TimeSpan.FromMinutes(8));
                if (result.ExitCode != 0 || !File.Exists(Path.Combine(staging, "overlay-agent")))
                    throw new InvalidOperationException($"Native AOT publish of {project} failed (needs gcc and the ILCompiler packages): {result}");
                if (!File.Exists(Path.Combine(staging, "libsodium.so")))
                    throw new InvalidOperationException($"the Native AOT publish of {project} wrote no libsodium.so (core's NuGet libsodium package)");
                log($"published the Native AOT agent in {watch.Elapsed.TotalSeconds:F0} s");
                Directory.CreateDirectory(dir);
                // The library first, the binary last: the other cache readers (build scripts) check the binary too.
                File.Move(Path.Combine(staging, "libsodium.so"), library + ".tmp", overwrite: true);
                File.Move(library + ".tmp", library, overwrite: true);
                File.Move(Path.Combine(staging, "overlay-agent"), binary + ".tmp", overwrite: true);
                File.Move(binary + ".tmp", binary, overwrite: true);
                PruneStale(hash);
                return binary;
            }
            finally
            {
                Directory.Delete(staging, recursive: true);
            }
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>
    /// Removes builds of other inputs untouched for a day (~8 MB each). Not sooner: other worktrees' test runs
    /// share this cache and may be copying theirs into an image right now.
    /// </summary>
    private static void PruneStale(string keep)
    {
        foreach (var dir in Directory.EnumerateDirectories(CacheDir))
        {
            if (Path.GetFileName(dir) == keep) continue;
            if (Directory.GetLastWriteTimeUtc(dir) < DateTime.UtcNow - TimeSpan.FromDays(1)) Directory.Delete(dir, recursive: true);
        }
    }

    private static string InputHash()
    {
        var files = new List<string>();
        foreach (var folder in new[] { "guest-agent", "core" })
        {
            foreach (var f in Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, folder), "*", SearchOption.AllDirectories))
            {
                var rel = Path.GetRelativePath(RepoPaths.Root, f);
                if (rel.Contains("/bin/", StringComparison.Ordinal) || rel.Contains("/obj/", StringComparison.Ordinal)) continue;
                files.Add(rel);
            }
        }
        files.Add("Directory.Build.props");
        files.Add("Directory.Packages.props");
        files.Sort(StringComparer.Ordinal);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var rel in files)
        {
            var full = Path.Combine(RepoPaths.Root, rel);
            if (!File.Exists(full)) continue;
            sha.AppendData(Encoding.UTF8.GetBytes(rel + "\n"));
            sha.AppendData(File.ReadAllBytes(full));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }
}
