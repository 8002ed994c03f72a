using OverlayKvm.Integration.Tests.Daemon;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// virsh against the system libvirtd (or, with a <c>uri</c>, a test's own libvirtd such as a
/// <see cref="Migration.LibvirtHost"/>), with failures turned into exceptions that quote virsh's error.
/// </summary>
internal static class Virsh
{
    public const string Uri = "qemu:///system";
    private static readonly TimeSpan ReconnectWindow = TimeSpan.FromSeconds(60);

    public static Task<ProcessResult> TryRunAsync(TimeSpan timeout, params string[] args) =>
        TryRunOnAsync(Uri, timeout, args);

    public static Task<string> RunAsync(params string[] args) => RunOnAsync(Uri, args);

    /// <summary>Like <see cref="TryRunAsync"/>, against the libvirtd at <paramref name="uri"/>.</summary>
    public static Task<ProcessResult> TryRunOnAsync(string uri, TimeSpan timeout, params string[] args) =>
        uri == Uri ? RunRetryingConnectAsync(timeout, args) : ProcessResult.RunAsync("virsh", ["-c", uri, .. args], timeout: timeout);

    /// <summary>Like <see cref="RunAsync"/>, against the libvirtd at <paramref name="uri"/>.</summary>
    public static async Task<string> RunOnAsync(string uri, params string[] args)
    {
        var result = await TryRunOnAsync(uri, TimeSpan.FromSeconds(60), args);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"virsh -c {uri} {string.Join(' ', args)} failed: {result.Stderr.Trim()} {result.Stdout.Trim()}");
        return result.Stdout;
    }

    /// <summary>
    /// The system libvirtd only. Other suites on the same machine start and stop the one system libvirtd (their own, by PID). A command
    /// that could not even connect did nothing, so it is safe to retry it once the daemon answers again —
    /// restarting it through <see cref="LibvirtDaemons.ReviveAsync"/> if nobody else does.
    /// </summary>
    private static async Task<ProcessResult> RunRetryingConnectAsync(TimeSpan timeout, string[] args)
    {
        var deadline = DateTime.UtcNow + ReconnectWindow;
        while (true)
        {
            var result = await ProcessResult.RunAsync("virsh", ["-c", Uri, .. args], timeout: timeout);
            var retry = IsConnectFailure(result) || (IsLostConnection(result) && IsIdempotent(args));
            if (result.ExitCode == 0 || !retry || DateTime.UtcNow > deadline)
                return result;
            await LibvirtDaemons.ReviveAsync();
        }
    }

    /// <summary>
    /// Removes a test domain: destroy (a stopped or vanished domain is fine), then undefine. What fails is added to
    /// <paramref name="failures"/> so the caller's cleanup goes on and reports everything at once.
    /// </summary>
    public static async Task DestroyAndUndefineAsync(string name, List<Exception> failures, string uri = Uri)
    {
        var destroy = await TryRunOnAsync(uri, TimeSpan.FromSeconds(60), "destroy", name);
        if (destroy.ExitCode != 0 && !destroy.Stderr.Contains("not running", StringComparison.OrdinalIgnoreCase)
            && !destroy.Stderr.Contains("failed to get domain", StringComparison.OrdinalIgnoreCase))
            failures.Add(new InvalidOperationException($"virsh destroy {name}: {destroy.Stderr.Trim()}"));
        var undefine = await TryRunOnAsync(uri, TimeSpan.FromSeconds(60), "undefine", name);
        if (undefine.ExitCode != 0 && !undefine.Stderr.Contains("failed to get domain", StringComparison.OrdinalIgnoreCase))
            failures.Add(new InvalidOperationException($"virsh undefine {name}: {undefine.Stderr.Trim()}"));
    }

    public static bool IsConnectFailure(ProcessResult result) =>
        result.Stderr.Contains("failed to connect to the hypervisor", StringComparison.Ordinal);

    /// <summary>libvirtd went away in the middle of the call: the command may or may not have taken effect.</summary>
    private static bool IsLostConnection(ProcessResult result) =>
        result.Stderr.Contains("Disconnected from", StringComparison.Ordinal)
        || result.Stderr.Contains("End of file while reading data", StringComparison.Ordinal);

    /// <summary>Commands that are safe to repeat after a lost connection (defining the same XML twice is fine;
    /// destroy/undefine callers already accept "not running"/"failed to get domain").</summary>
    private static bool IsIdempotent(string[] args) =>
        args.Length > 0 && args[0] is "list" or "domstate" or "define" or "destroy" or "undefine";
}
