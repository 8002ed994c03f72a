using OverlayKvm.Integration.Tests.Daemon;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>virsh against the system libvirtd, with failures turned into exceptions that quote virsh's error.</summary>
internal static class Virsh
{
    public const string Uri = "qemu:///system";

    public static Task<ProcessResult> TryRunAsync(TimeSpan timeout, params string[] args) =>
        ProcessResult.RunAsync("virsh", ["-c", Uri, .. args], timeout: timeout);

    public static async Task<string> RunAsync(params string[] args)
    {
        var result = await TryRunAsync(TimeSpan.FromSeconds(60), args);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"virsh -c {Uri} {string.Join(' ', args)} failed: {result.Stderr.Trim()} {result.Stdout.Trim()}");
        return result.Stdout;
    }
}
