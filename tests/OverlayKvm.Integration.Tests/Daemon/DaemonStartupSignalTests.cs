using System.Diagnostics;
using System.Text;

namespace OverlayKvm.Integration.Tests.Daemon;

/// <summary>Issue 14 item 11: SIGTERM while overlayd starts ends it cleanly, never with an unhandled exception.</summary>
public sealed class DaemonStartupSignalTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(150)]
    [InlineData(400)]
    [InlineData(800)]
    public async Task SigtermDuringStartup_ExitsCleanly(int delayMs)
    {
        string root = Directory.CreateTempSubdirectory("okvm-hh-start-").FullName;
        var log = new StringBuilder();
        Process? process = null;
        try
        {
            var psi = new ProcessStartInfo(ProductBinaries.Overlayd) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--socket", Path.Combine(root, "overlayd.sock"), "--state-dir", Path.Combine(root, "state"),
                         "--channel-dir", Path.Combine(root, "channels"), "--host-name", "hh-start", "--host-address", "192.0.2.1" })
            {
                psi.ArgumentList.Add(a);
            }
            psi.Environment["OVERLAYKVM_ENGINE__DIRECTORY"] = root;
            psi.Environment["OVERLAYKVM_LIBVIRT__EVENTSERVICEENABLED"] = "false";
            process = Process.Start(psi)!;
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (delayMs > 0)
            {
                await Task.Delay(delayMs);
            }

            if (!process.HasExited)
            {
                Posix.Kill(process.Id, Posix.SIGTERM);
            }
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(deadline.Token);
            process.WaitForExit(); // flush the redirected output

            string text;
            lock (log) text = log.ToString();
            Assert.True(process.ExitCode is 0 or 143, $"exit code {process.ExitCode}; log:\n{text}");
            Assert.DoesNotContain("Unhandled exception", text);
        }
        finally
        {
            if (process is { HasExited: false })
            {
                process.Kill();
                process.WaitForExit();
            }
            process?.Dispose();
            Directory.Delete(root, recursive: true);
        }
    }
}
