using System.Text.Json;

namespace OverlayKvm.Integration.Tests.Daemon;

/// <summary>Runs the real overlayctl binary against a daemon's socket.</summary>
internal sealed class Overlayctl(string socket)
{
    public Task<ProcessResult> RunAsync(params string[] args) =>
        ProcessResult.RunAsync(ProductBinaries.Overlayctl, Prefix(args));

    public Task<ProcessResult> RunScriptAsync(string script, params string[] globalArgs) =>
        ProcessResult.RunAsync(ProductBinaries.Overlayctl, Prefix(globalArgs), stdin: script);

    /// <summary>Runs a command that must succeed and returns its stdout.</summary>
    public async Task<string> OkAsync(params string[] args)
    {
        var r = await RunAsync(args);
        Assert.True(r.ExitCode == 0, $"overlayctl {string.Join(' ', args)} failed: {r}");
        return r.Stdout;
    }

    public async Task<JsonElement> JsonAsync(params string[] args)
    {
        var text = await OkAsync(["--json", .. args]);
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    private string[] Prefix(string[] args) => ["--connect", socket, .. args];
}
