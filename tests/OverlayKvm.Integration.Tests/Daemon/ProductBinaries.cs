namespace OverlayKvm.Integration.Tests.Daemon;

/// <summary>
/// Where the build put the product's executables: artifacts/bin/&lt;Project&gt;/&lt;config&gt;/, next to this test
/// assembly's own folder (the solution uses artifacts output, so the layout is fixed).
/// </summary>
internal static class ProductBinaries
{
    public static string Overlayd => Find("OverlayKvm.HostDaemon", "overlayd");
    public static string Overlayctl => Find("OverlayKvm.Cli", "overlayctl");

    public static string Find(string project, string executable)
    {
        var self = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var config = self.Name;
        var bin = self.Parent!.Parent!.FullName;
        var path = Path.Combine(bin, project, config, executable);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{executable} was not built at {path}: build the solution (scripts/test.sh does) before running the integration tests", path);
        return path;
    }
}
