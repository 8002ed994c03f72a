using OverlayKvm.Integration.Tests.Daemon;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>A kernel and initramfs built by packaging/guest-image/build.sh, as described by its image.env.</summary>
internal sealed record GuestImage(string Kernel, string Initrd, string KernelVersion, string KernelFormat, string Stamp)
{
    /// <summary>Where the tests keep their images: inside the builder's cache, outside the repository.</summary>
    public const string CacheRoot = "/var/cache/overlaykvm/guest";

    /// <summary>
    /// Runs the builder (fast when its cache is warm: it only compares an input stamp) and reads the result.
    /// The first build downloads ~75 MB of Debian packages and can take a minute or two.
    /// </summary>
    public static async Task<GuestImage> BuildAsync(string outDir, string? agent = null, Action<string>? log = null,
        IReadOnlyList<(string Source, string Destination)>? extras = null)
    {
        var args = new List<string> { RepoPaths.GuestImageBuilder, "--out", outDir };
        if (agent is not null) { args.Add("--agent"); args.Add(agent); }
        foreach (var (source, destination) in extras ?? []) { args.Add("--extra"); args.Add(source + ":" + destination); }
        var result = await ProcessResult.RunAsync("/bin/bash", args, timeout: TimeSpan.FromMinutes(8));
        log?.Invoke($"build.sh --out {outDir}{(agent is null ? "" : " --agent " + agent)}: exit {result.ExitCode}\n{result.Stderr.Trim()}");
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"guest image build failed ({RepoPaths.GuestImageBuilder}): {result}");
        return Parse(Path.Combine(outDir, "image.env"));
    }

    public static GuestImage Parse(string imageEnvPath)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(imageEnvPath))
        {
            var eq = line.IndexOf('=');
            if (eq > 0) values[line[..eq]] = line[(eq + 1)..];
        }
        string Get(string key) => values.TryGetValue(key, out var v) && v.Length > 0
            ? v
            : throw new InvalidDataException($"{imageEnvPath}: no {key}= line");
        var image = new GuestImage(Get("KERNEL"), Get("INITRD"), Get("KERNEL_VERSION"), Get("KERNEL_FORMAT"), Get("STAMP"));
        if (!File.Exists(image.Kernel)) throw new FileNotFoundException($"{imageEnvPath}: KERNEL {image.Kernel} is missing", image.Kernel);
        if (!File.Exists(image.Initrd)) throw new FileNotFoundException($"{imageEnvPath}: INITRD {image.Initrd} is missing", image.Initrd);
        return image;
    }
}
