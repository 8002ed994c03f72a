namespace OverlayKvm.Fuzz.Tests;

/// <summary>Where the committed fuzz inputs live: tests/OverlayKvm.Fuzz/{Corpus,Crashes}/TARGET/* in the repository.</summary>
internal static class FuzzFiles
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string FuzzProject => Path.Combine(RepositoryRoot, "tests", "OverlayKvm.Fuzz");

    /// <summary>Every seed and every crash input of every target.</summary>
    public static IReadOnlyList<string> All()
    {
        var files = new List<string>();
        foreach (string kind in new[] { "Corpus", "Crashes" })
        {
            string dir = Path.Combine(FuzzProject, kind);
            if (Directory.Exists(dir))
            {
                files.AddRange(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories));
            }
        }
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    public static string Crash(string target, string name) => Path.Combine(FuzzProject, "Crashes", target, name);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OverlayKvm.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no OverlayKvm.sln above {AppContext.BaseDirectory}: the fuzz tests read the committed corpus from the repository");
    }
}
