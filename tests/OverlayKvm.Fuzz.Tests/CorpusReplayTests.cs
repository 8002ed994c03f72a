namespace OverlayKvm.Fuzz.Tests;

/// <summary>
/// Every committed seed and crash input, of every target, through every target in-process (uninstrumented): nothing
/// may escape <c>FuzzTarget.Run</c>, which lets through only each parser's documented refusals. A crash file that
/// fails here is a regression of a fixed finding.
/// </summary>
public sealed class CorpusReplayTests
{
    public static TheoryData<string> Targets() => new(FuzzTargets.Names);

    [Theory]
    [MemberData(nameof(Targets))]
    public void Run_EveryCorpusAndCrashFile_NoUnexpectedException(string target)
    {
        IReadOnlyList<string> files = FuzzFiles.All();
        Assert.True(files.Count >= FuzzTargets.Names.Count, $"only {files.Count} committed fuzz inputs found under {FuzzFiles.FuzzProject}");
        using FuzzTarget fuzz = FuzzTargets.Create(target)!;
        var failures = new List<string>();
        foreach (string file in files)
        {
            try
            {
                fuzz.Run(File.ReadAllBytes(file));
            }
            catch (Exception ex)
            {
                failures.Add($"{Path.GetRelativePath(FuzzFiles.FuzzProject, file)}: {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
            }
        }
        Assert.True(failures.Count == 0, $"{target}: {failures.Count} of {files.Count} inputs escaped:\n{string.Join("\n", failures)}");
    }

    [Fact]
    public void Corpus_EveryTargetHasSeeds()
    {
        foreach (string target in FuzzTargets.Names)
        {
            string dir = Path.Combine(FuzzFiles.FuzzProject, "Corpus", target);
            Assert.True(Directory.Exists(dir) && Directory.EnumerateFiles(dir).Any(), $"target {target} has no seeds in {dir}");
        }
    }
}
