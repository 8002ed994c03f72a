using System.Diagnostics;

namespace OverlayKvm.Integration.Tests.Libvirt;

/// <summary>packaging/hooks/install-qemu-hook.sh into a private hooks directory (no libvirtd signalled).</summary>
public sealed class InstallHookScriptTests : IDisposable
{
    private readonly string _hooksDir = Path.Combine(Path.GetTempPath(), $"okvm-hooks-{Guid.NewGuid():N}"[..24]);

    private static string Script()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "packaging", "hooks", "install-qemu-hook.sh");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException($"packaging/hooks/install-qemu-hook.sh not found above {AppContext.BaseDirectory}");
    }

    private (int Exit, string Out, string Err) Run(params string[] args)
    {
        var psi = new ProcessStartInfo("/bin/bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Script());
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["HOOKS_DIR"] = _hooksDir;
        psi.Environment["NO_SIGNAL"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(30_000), "install script did not finish in 30 s");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void Install_ThenUninstall_CopiesExecutableAndRemovesIt()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Linux only");
        }
        string hook = HookInstallation.HookBinary();
        string target = Path.Combine(_hooksDir, "qemu.d", "overlaykvm");

        var install = Run(hook);
        Assert.True(install.Exit == 0, install.Err);
        Assert.Equal(File.ReadAllBytes(hook), File.ReadAllBytes(target));
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(target));
        Assert.Empty(Directory.GetFiles(Path.Combine(_hooksDir, "qemu.d"), ".overlaykvm.*"));

        var uninstall = Run("--uninstall");
        Assert.True(uninstall.Exit == 0, uninstall.Err);
        Assert.False(File.Exists(target));
    }

    [Fact]
    public void Install_MissingBinary_FailsWithMessage()
    {
        var result = Run(Path.Combine(_hooksDir, "no-such-hook"));
        Assert.Equal(1, result.Exit);
        Assert.Contains("is not an executable file", result.Err);
    }

    public void Dispose()
    {
        if (Directory.Exists(_hooksDir))
        {
            Directory.Delete(_hooksDir, recursive: true);
        }
    }
}
