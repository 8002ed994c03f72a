using OverlayKvm.Integration.Tests.Daemon;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>The image builder's refusals and its cache, without libvirt.</summary>
public sealed class GuestImageBuilderTests
{
    [Theory]
    [InlineData("--agent", "/nonexistent/overlay-agent", "--agent '/nonexistent/overlay-agent': no such file")]
    [InlineData("--bogus", "", "unknown argument '--bogus'")]
    [InlineData("--out", "", "--out needs a directory")]
    public async Task Build_BadArguments_FailsNamingTheArgument(string flag, string value, string expected)
    {
        string[] args = value.Length == 0 ? [RepoPaths.GuestImageBuilder, flag] : [RepoPaths.GuestImageBuilder, flag, value];
        var result = await ProcessResult.RunAsync("/bin/bash", args, timeout: TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("guest-image: error: " + expected, result.Stderr);
    }

    [Fact]
    public async Task Build_AgentNotExecutable_Refused()
    {
        var file = Path.GetTempFileName();
        try
        {
            var result = await ProcessResult.RunAsync("/bin/bash", [RepoPaths.GuestImageBuilder, "--agent", file], timeout: TimeSpan.FromSeconds(30));
            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains($"--agent '{file}': not executable", result.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Build_SameInputsTwice_SecondRunIsUpToDateAndKeepsTheImage()
    {
        var outDir = Path.Combine(GuestImage.CacheRoot, "e2e-builder-test");
        var first = await GuestImage.BuildAsync(outDir);
        var initrdTime = File.GetLastWriteTimeUtc(first.Initrd);

        var again = await ProcessResult.RunAsync("/bin/bash", [RepoPaths.GuestImageBuilder, "--out", outDir], timeout: TimeSpan.FromMinutes(2));
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("guest-image: up to date", again.Stderr);
        Assert.Equal(first, GuestImage.Parse(Path.Combine(outDir, "image.env")));
        Assert.Equal(initrdTime, File.GetLastWriteTimeUtc(first.Initrd));
        Assert.Equal("vmlinux", first.KernelFormat);
        // An ELF kernel (PVH entry), not the bzImage.
        var magic = new byte[4];
        await using (var kernel = File.OpenRead(first.Kernel)) kernel.ReadExactly(magic);
        Assert.Equal(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }, magic);
    }

    [Fact]
    public async Task Build_AgentChanged_RebuildsTheSameOutputInPlace()
    {
        var outDir = Path.Combine(GuestImage.CacheRoot, "e2e-builder-rebuild-test");
        var agentDir = Directory.CreateTempSubdirectory("okve2e-agents.").FullName;
        try
        {
            var agentA = Path.Combine(agentDir, "a");
            var agentB = Path.Combine(agentDir, "b");
            await File.WriteAllTextAsync(agentA, "#!/bin/sh\necho a\n");
            await File.WriteAllTextAsync(agentB, "#!/bin/sh\necho b\n");
            File.SetUnixFileMode(agentA, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            File.SetUnixFileMode(agentB, UnixFileMode.UserRead | UnixFileMode.UserExecute);

            var a = await GuestImage.BuildAsync(outDir, agentA);
            var b = await GuestImage.BuildAsync(outDir, agentB);

            Assert.NotEqual(a.Stamp, b.Stamp);
            Assert.Contains("AGENT=" + agentB, await File.ReadAllTextAsync(Path.Combine(outDir, "image.env")));
            Assert.True(File.Exists(b.Kernel) && new FileInfo(b.Kernel).Length > 1_000_000, $"kernel {b.Kernel} missing or truncated after the rebuild");
        }
        finally
        {
            Directory.Delete(agentDir, recursive: true);
        }
    }
}
