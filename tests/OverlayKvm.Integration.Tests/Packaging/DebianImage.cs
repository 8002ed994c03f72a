using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.E2e;

namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>
/// The Debian 12 VM image built by packaging/debian-image/build.sh (mmdebstrap root filesystem with systemd and
/// redis-server as a raw ext4 disk, the Debian kernel and a switch-root initramfs), as its image.env describes it.
/// The builder caches everything by its inputs: warm, it costs a few seconds.
/// </summary>
internal sealed record DebianImage(string Kernel, string Initrd, string Rootfs, string Stamp)
{
    public static string Builder => Path.Combine(RepoPaths.Root, "packaging", "debian-image", "build.sh");

    public static async Task<DebianImage> BuildAsync(Action<string> log)
    {
        var result = await ProcessResult.RunAsync("/bin/bash", [Builder], timeout: TimeSpan.FromMinutes(15));
        log($"debian-image/build.sh: exit {result.ExitCode}\n{result.Stderr.Trim()}");
        if (result.ExitCode != 0) throw new InvalidOperationException($"the Debian VM image build failed ({Builder}): {result}");
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in result.Stdout.Split('\n'))
        {
            var eq = line.IndexOf('=');
            if (eq > 0) values[line[..eq]] = line[(eq + 1)..].Trim();
        }
        string Get(string key) => values.TryGetValue(key, out var v) && v.Length > 0
            ? v
            : throw new InvalidDataException($"{Builder} printed no {key}= line: {result.Stdout}");
        var image = new DebianImage(Get("KERNEL"), Get("INITRD"), Get("ROOTFS"), Get("STAMP"));
        foreach (var file in new[] { image.Kernel, image.Initrd, image.Rootfs })
            if (!File.Exists(file)) throw new FileNotFoundException($"{Builder} names {file}, which is missing", file);
        return image;
    }
}
