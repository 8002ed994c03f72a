namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>Integration prerequisites: a missing one fails the test with its name (never a silent pass or skip).</summary>
internal static class Prerequisites
{
    public static void RequireRootAndTools(params string[] tools)
    {
        Assert.True(Environment.UserName == "root" || Cmd.Run("id", "-u").Out.Trim() == "0",
            "prerequisite missing: these tests create network namespaces and TUN devices and must run as root");
        Assert.True(File.Exists("/dev/net/tun"), "prerequisite missing: /dev/net/tun (tun module) is needed for the agent's adapters");
        foreach (string tool in tools)
        {
            Assert.True(Cmd.Run("sh", "-c", $"command -v {tool}").Code == 0,
                $"prerequisite missing: '{tool}' is not installed (scripts/setup.sh installs it)");
        }
    }

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OverlayKvm.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException($"OverlayKvm.sln not found above {AppContext.BaseDirectory}");
    }

    public static string AgentBinary()
    {
        string path = Path.Combine(RepoRoot(), "artifacts/bin/OverlayKvm.GuestAgent/debug/overlay-agent");
        Assert.True(File.Exists(path), $"prerequisite missing: {path} (build tests/OverlayKvm.Integration.Tests first)");
        return path;
    }
}
