using OverlayKvm.Integration.Tests.Daemon;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Policy;

/// <summary>overlayd refuses bad policy, directory and job settings at start, naming every key, with exit 2.</summary>
public sealed class PolicyConfigurationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task BadPolicyAndDirectorySettings_Exit2_EveryKeyNamed_NothingLeftRunning()
    {
        var root = Directory.CreateTempSubdirectory("okvm-pc-").FullName;
        try
        {
            var config = Path.Combine(root, "overlayd.json");
            await File.WriteAllTextAsync(config, """
                {"Policy": {"DefaultBetweenGroups": "maybe"},
                 "Directory": {"TrustedSegments": ["10.0.0.1/8"]}}
                """);
            var result = await ProcessResult.RunAsync(ProductBinaries.Overlayd,
                ["--socket", Path.Combine(root, "s.sock"), "--state-dir", Path.Combine(root, "state"), "--config", config],
                timeout: TimeSpan.FromSeconds(30));
            output.WriteLine(result.ToString());

            Assert.Equal(2, result.ExitCode);
            Assert.Contains("overlayd: configuration: Policy:DefaultBetweenGroups: 'maybe' is not one of allow, deny", result.Stderr);
            Assert.Contains("overlayd: configuration: Directory:TrustedSegments:0: '10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8?", result.Stderr);
            Assert.False(File.Exists(Path.Combine(root, "s.sock")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task BadJobSettings_Exit2_KeyNamed()
    {
        var root = Directory.CreateTempSubdirectory("okvm-pc-").FullName;
        try
        {
            var config = Path.Combine(root, "overlayd.json");
            await File.WriteAllTextAsync(config, """{"Jobs": {"CredentialRotation": {"DefaultInterval": "00:00:10"}}}""");
            var result = await ProcessResult.RunAsync(ProductBinaries.Overlayd,
                ["--socket", Path.Combine(root, "s.sock"), "--state-dir", Path.Combine(root, "state"), "--config", config],
                timeout: TimeSpan.FromSeconds(30));
            output.WriteLine(result.ToString());

            Assert.Equal(2, result.ExitCode);
            Assert.Contains("overlayd: configuration: Jobs:CredentialRotation:DefaultInterval: 00:00:10 is shorter than 00:01:00", result.Stderr);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
