using System.Diagnostics;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>
/// tcpdump on a libvirt network's bridge (host namespace), writing a pcap file the test decodes with
/// <see cref="PacketCapture.Read"/>. Stopped by its PID; the file is removed on dispose.
/// </summary>
internal sealed class BridgeCapture : IDisposable
{
    private readonly Process _tcpdump;

    private BridgeCapture(Process tcpdump, string file, string device)
    {
        _tcpdump = tcpdump;
        File = file;
        Interface = device;
    }

    public string File { get; }

    /// <summary>The host interface captured on (a bridge or a VM's tap).</summary>
    public string Interface { get; }

    public static BridgeCapture Start(string bridge, string file, string filter)
    {
        if (!System.IO.File.Exists("/usr/bin/tcpdump") && !System.IO.File.Exists("/usr/sbin/tcpdump"))
            throw new InvalidOperationException("prerequisite missing: tcpdump (scripts/setup.sh installs it) is needed to capture on the VMs' bridge");
        var psi = new ProcessStartInfo("tcpdump") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-i", bridge, "-U", "-n", "-s", "0", "-w", file, filter }) psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start tcpdump");
        // tcpdump prints "listening on …" to stderr once the capture is armed.
        var ready = p.StandardError.ReadLineAsync();
        if (!ready.Wait(TimeSpan.FromSeconds(10)) || ready.Result is null || !ready.Result.Contains("listening", StringComparison.Ordinal))
        {
            p.Kill();
            p.WaitForExit(5000);
            throw new InvalidOperationException($"tcpdump on bridge {bridge} did not start: {(ready.IsCompleted ? ready.Result : "no output in 10 s")}");
        }
        _ = p.StandardError.ReadToEndAsync(); // keep draining: a full stderr pipe would stall it
        return new BridgeCapture(p, file, bridge);
    }

    /// <summary>
    /// Waits until the file has not grown for <paramref name="quiet"/> (at most <paramref name="max"/>). tcpdump
    /// stops reading at SIGINT: frames still queued in the kernel are lost, and on a busy machine it lags behind by
    /// seconds (seen: the last 150 frames of a run, phase marks included, missing from the bridge's capture).
    /// </summary>
    public async Task WaitQuietAsync(TimeSpan quiet, TimeSpan max)
    {
        var deadline = DateTime.UtcNow + max;
        long last = -1;
        var since = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline)
        {
            long size = new FileInfo(File).Length;
            if (size != last)
            {
                last = size;
                since = DateTime.UtcNow;
            }
            else if (DateTime.UtcNow - since >= quiet)
            {
                return;
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Ends the capture (SIGINT flushes the file) and returns the raw pcap bytes and the decoded frames.</summary>
    public (byte[] Raw, List<CapturedFrame> Frames) Stop()
    {
        if (!_tcpdump.HasExited)
        {
            OverlayKvm.Core.Interop.Interop.Kill(_tcpdump.Id, 2);
            _tcpdump.WaitForExit(10_000);
        }
        return (System.IO.File.ReadAllBytes(File), PacketCapture.Read(File));
    }

    public void Dispose()
    {
        if (!_tcpdump.HasExited)
        {
            _tcpdump.Kill();
            _tcpdump.WaitForExit(5000);
        }
        _tcpdump.Dispose();
        System.IO.File.Delete(File);
    }
}
