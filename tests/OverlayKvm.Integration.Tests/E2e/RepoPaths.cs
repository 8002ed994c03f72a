namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>Files of the repository the E2E tests use (the image builder, the domain templates).</summary>
internal static class RepoPaths
{
    /// <summary>The checkout this test assembly was built from: the first ancestor holding OverlayKvm.sln.</summary>
    public static string Root { get; } = FindRoot();

    public static string GuestImageBuilder => Path.Combine(Root, "packaging", "guest-image", "build.sh");

    public static string E2eTemplate(string fileName) => Path.Combine(Root, "xml-templates", "e2e", fileName);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OverlayKvm.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no OverlayKvm.sln above {AppContext.BaseDirectory}: the E2E tests run from a build inside the repository");
    }
}
