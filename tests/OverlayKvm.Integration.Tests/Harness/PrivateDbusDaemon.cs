using System.Diagnostics;
using CoreInterop = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// A dbus-daemon of the test's own (never the machine's system bus): a unix socket in the test directory, a policy
/// that lets the test's processes own any name and talk to each other, killed by PID on dispose.
/// </summary>
internal sealed class PrivateDbusDaemon : IDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private PrivateDbusDaemon(Process process, string directory, string address)
    {
        _process = process;
        _directory = directory;
        Address = address;
    }

    public string Address { get; }

    public static PrivateDbusDaemon Start(string directory)
    {
        Assert.True(Cmd.Run("sh", "-c", "command -v dbus-daemon").Code == 0,
            "prerequisite missing: 'dbus-daemon' is not installed (scripts/setup.sh installs package dbus-daemon)");
        Directory.CreateDirectory(directory);
        string config = Path.Combine(directory, "bus.conf");
        File.WriteAllText(config, $"""
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>system</type>
              <listen>unix:path={Path.Combine(directory, "bus.sock")}</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/>
                <allow own="*"/>
                <allow send_type="method_call"/>
                <allow send_type="signal"/>
                <allow send_requested_reply="true" send_type="method_return"/>
                <allow send_requested_reply="true" send_type="error"/>
                <allow receive_type="method_call"/>
                <allow receive_type="method_return"/>
                <allow receive_type="error"/>
                <allow receive_type="signal"/>
              </policy>
            </busconfig>
            """);
        var psi = new ProcessStartInfo("dbus-daemon") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { $"--config-file={config}", "--nofork", "--nopidfile", "--print-address" })
        {
            psi.ArgumentList.Add(a);
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start dbus-daemon");
        // dbus-daemon prints its address once it listens: the first line is the readiness signal.
        Task<string?> line = process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(10)) || string.IsNullOrEmpty(line.Result))
        {
            CoreInterop.Kill(process.Id, 9);
            throw new InvalidOperationException($"dbus-daemon did not print its address: {process.StandardError.ReadToEnd()}");
        }
        return new PrivateDbusDaemon(process, directory, line.Result.Trim());
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            CoreInterop.Kill(_process.Id, 15);
            _process.WaitForExit(5_000);
        }
        _process.Dispose();
        File.Delete(Path.Combine(_directory, "bus.sock"));
        File.Delete(Path.Combine(_directory, "bus.conf"));
    }
}
