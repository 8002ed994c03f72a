using OverlayKvm.Integration.Tests.Daemon;

namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>dpkg as the packaging tests drive it: every call checked, its output in the failure message.</summary>
internal static class Dpkg
{
    /// <summary>
    /// Set for every dpkg run of the tests: the overlayd that postinst starts must not equip or watch the
    /// domains of other test suites sharing this host's libvirtd.
    /// </summary>
    private static readonly Dictionary<string, string> TestEnvironment = new()
    {
        ["OVERLAYKVM_LIBVIRT__EVENTSERVICEENABLED"] = "false",
    };

    public static async Task<string> RunAsync(params string[] args)
    {
        var result = await RunUncheckedAsync(args);
        if (result.ExitCode != 0) throw new InvalidOperationException($"dpkg {string.Join(' ', args)} failed: {result}");
        return result.Stdout + result.Stderr;
    }

    public static Task<ProcessResult> RunUncheckedAsync(params string[] args) =>
        ProcessResult.RunAsync("/usr/bin/env", [.. TestEnvironment.Select(kv => $"{kv.Key}={kv.Value}"), "dpkg", .. args],
            timeout: TimeSpan.FromMinutes(3));

    public static async Task<string?> InstalledVersionAsync(string package)
    {
        var result = await ProcessResult.RunAsync("dpkg-query", ["-W", "-f=${Status}|${Version}", package]);
        if (result.ExitCode != 0) return null;
        var parts = result.Stdout.Split('|');
        return parts[0] == "install ok installed" ? parts[1] : parts[0].Contains("config-files", StringComparison.Ordinal) ? "config-files" : null;
    }

    /// <summary>The paths dpkg lists for an installed package (directories included).</summary>
    public static async Task<IReadOnlyList<string>> ListAsync(string package)
    {
        var output = await ProcessResult.RunAsync("dpkg", ["-L", package]);
        if (output.ExitCode != 0) throw new InvalidOperationException($"dpkg -L {package} failed: {output}");
        return output.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(p => p.StartsWith('/') && p != "/.").ToList();
    }

    /// <summary>Purges our packages if any state of them is on the machine (a run that died half-way).</summary>
    public static async Task PurgeIfPresentAsync()
    {
        foreach (var package in new[] { DebPackages.Host, DebPackages.Guest })
        {
            var status = await ProcessResult.RunAsync("dpkg-query", ["-W", "-f=${db:Status-Status}", package]);
            if (status.ExitCode == 0 && status.Stdout.Trim() is { Length: > 0 } s && s != "not-installed")
                await RunAsync("--purge", package);
        }
    }
}
