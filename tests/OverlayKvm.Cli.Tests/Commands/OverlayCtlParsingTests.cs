using OverlayKvm.Cli.Client;
using OverlayKvm.Cli.Commands;

namespace OverlayKvm.Cli.Tests.Commands;

public sealed class OverlayCtlParsingTests
{
    [Theory]
    [InlineData("group-define")]                       // missing argument and --cidr
    [InlineData("group-define", "web")]                 // missing --cidr
    [InlineData("group-define", "web", "--cidr", "10.1.0.0/16", "--cipher", "aes-256-gcm")] // unknown cipher (issue 16)
    [InlineData("app-define", "web", "fe")]             // missing --domain
    [InlineData("no-such-command")]
    [InlineData("group-list", "--bogus")]
    public async Task Invoke_BadCommandLine_OneLineOnStderr_Exit2(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();

        var code = await OverlayCtl.RunAsync(args, new StringReader(""), output, error, CancellationToken.None);

        Assert.Equal(ExitCodes.Usage, code);
        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("overlayctl: ", lines[0]);
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public async Task Invoke_UnreachableSocket_Exit3_NamesTheSocket()
    {
        var error = new StringWriter();
        var socket = $"/tmp/okvm-missing-{Guid.NewGuid():N}.sock";

        var code = await OverlayCtl.RunAsync(["--connect", socket, "group-list"], new StringReader(""), new StringWriter(), error, CancellationToken.None);

        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.Contains(socket, error.ToString());
    }

    [Fact]
    public async Task Version_OverlaydUnreachable_Exit3_StillPrintsTheCliVersion()
    {
        // Issue 14 item 11: "version" exited 0 without a daemon, so scripts that wait with it raced overlayd.
        var output = new StringWriter();
        var error = new StringWriter();
        var socket = $"/tmp/okvm-missing-{Guid.NewGuid():N}.sock";

        var code = await OverlayCtl.RunAsync(["--connect", socket, "version"], new StringReader(""), output, error, CancellationToken.None);

        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.Contains($"overlayctl {SystemCommands.CliVersion}", output.ToString());
        Assert.Contains("overlayd: unavailable", output.ToString());
        Assert.Contains(socket, error.ToString());
    }

    [Fact]
    public async Task Shell_FromReader_FirstFailureIsExitCode()
    {
        var error = new StringWriter();
        var socket = $"/tmp/okvm-missing-{Guid.NewGuid():N}.sock";

        var code = await OverlayCtl.RunAsync(["--connect", socket], new StringReader("# comment\n\nbogus-cmd\ngroup-list\n"), new StringWriter(), error, CancellationToken.None);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal(2, error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Theory]
    [InlineData("cfg=/srv/app.conf", "cfg", "/srv/app.conf", null)]
    [InlineData("bin=http://x/y#0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF", "bin", "http://x/y", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public void ParseObject_Valid(string text, string name, string source, string? sha)
    {
        var o = AppCommands.ParseObject(text);
        Assert.Equal((name, source, sha), (o.Name, o.Source, o.Sha256));
    }

    [Theory]
    [InlineData("noequals")]
    [InlineData("=src")]
    [InlineData("name=")]
    [InlineData("n=src#abc")]
    public void ParseObject_Invalid_UsageError(string text)
    {
        var ex = Assert.Throws<OverlayCtlException>(() => AppCommands.ParseObject(text));
        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
    }
}
