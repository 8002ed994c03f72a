using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.E2e;

namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>build.sh --extra (how the VM tests put their guest scenario into the image), without libvirt.</summary>
public sealed class GuestImageExtraTests
{
    [Theory]
    [InlineData("nocolon", "--extra 'nocolon': expected SRC:DEST")]
    [InlineData("/nonexistent/file:/bin/x", "--extra '/nonexistent/file:/bin/x': no such file '/nonexistent/file'")]
    [InlineData("/etc/hostname:bin/x", "--extra '/etc/hostname:bin/x': DEST must be an absolute path")]
    [InlineData("/etc/hostname:/bin/../../x", "--extra '/etc/hostname:/bin/../../x': DEST must not contain '..'")]
    public async Task Build_BadExtra_FailsNamingIt(string extra, string expected)
    {
        var result = await ProcessResult.RunAsync("/bin/bash", [RepoPaths.GuestImageBuilder, "--extra", extra], timeout: TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("guest-image: error: " + expected, result.Stderr);
    }

    [Fact]
    public async Task Build_WithExtra_FileIsInTheInitramfsExecutableAndChangesTheStamp()
    {
        var outDir = Path.Combine(GuestImage.CacheRoot, "e2e-extra-test");
        var work = Directory.CreateTempSubdirectory("okve2e-extra.").FullName;
        try
        {
            var script = Path.Combine(work, "scenario.sh");
            await File.WriteAllTextAsync(script, "#!/bin/sh\necho extra-marker-5b1e\n");
            var plain = await GuestImage.BuildAsync(outDir);
            var withExtra = await GuestImage.BuildAsync(outDir, extras: [(script, "/bin/vm-scenario")]);
            Assert.NotEqual(plain.Stamp, withExtra.Stamp);

            var listing = await ProcessResult.RunAsync("/bin/sh", ["-c", $"gzip -dc '{withExtra.Initrd}' | cpio -itv --quiet bin/vm-scenario"], timeout: TimeSpan.FromSeconds(60));
            Assert.True(listing.ExitCode == 0, $"listing {withExtra.Initrd}: {listing}");
            Assert.StartsWith("-rwxr-xr-x", listing.Stdout.Trim());
            Assert.EndsWith("bin/vm-scenario", listing.Stdout.Trim());
            var content = await ProcessResult.RunAsync("/bin/sh", ["-c", $"gzip -dc '{withExtra.Initrd}' | cpio -i --to-stdout --quiet bin/vm-scenario"], timeout: TimeSpan.FromSeconds(60));
            Assert.Equal("#!/bin/sh\necho extra-marker-5b1e\n", content.Stdout);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
