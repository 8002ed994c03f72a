namespace OverlayKvm.Integration.Tests.Libvirt;

/// <summary>
/// Installs the built overlay-hook into /etc/libvirt/hooks/qemu.d/ under a unique name, through a small wrapper
/// that points it at the test's overlayd socket (libvirt runs hooks with a cleared environment), and HUPs
/// libvirtd. Dispose removes it (and qemu.d if this created it) and HUPs again.
/// </summary>
internal sealed class HookInstallation : IDisposable
{
    private const string HooksDir = "/etc/libvirt/hooks";
    private readonly LibvirtdFixture _daemon;
    private readonly bool _createdDir;

    public HookInstallation(LibvirtdFixture daemon, string overlaydSocket)
    {
        _daemon = daemon;
        string hook = HookBinary();
        string dotnetRoot = DotnetRoot();
        string dir = Path.Combine(HooksDir, "qemu.d");
        _createdDir = !Directory.Exists(dir);
        Directory.CreateDirectory(dir);
        FilePath = Path.Combine(dir, $"overlaykvm-test-{E2eDomains.RandomSuffix()}");
        File.WriteAllText(FilePath, $"""
            #!/bin/sh
            # Installed by OverlayKvm's libvirt end-to-end tests; removed when they finish.
            OVERLAYKVM_SOCKET='{overlaydSocket}' DOTNET_ROOT='{dotnetRoot}' exec '{hook}' "$@"

            """);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("libvirt end-to-end tests run on Linux only");
        }
        File.SetUnixFileMode(FilePath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        _daemon.ReloadHooks();
    }

    public string FilePath { get; }

    /// <summary>The overlay-hook the solution build produced (Integration.Tests builds qemu-hooks).</summary>
    public static string HookBinary()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "bin", "OverlayKvm.QemuHook", "debug", "overlay-hook");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException($"overlay-hook binary not found under artifacts/bin/OverlayKvm.QemuHook/debug above {AppContext.BaseDirectory} (build qemu-hooks)");
    }

    // .../dotnet/shared/Microsoft.NETCore.App/<version>/System.Private.CoreLib.dll → .../dotnet
    internal static string DotnetRoot() =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));

    public void Dispose()
    {
        File.Delete(FilePath);
        string dir = Path.Combine(HooksDir, "qemu.d");
        if (_createdDir && Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
        {
            Directory.Delete(dir);
        }
        _daemon.ReloadHooks();
    }
}
