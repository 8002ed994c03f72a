using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Daemon;

/// <summary>overlayctl engine-stat / engine-disable / engine-enable against a real overlayd.</summary>
public sealed class EngineCliTests(ITestOutputHelper output)
{
    [Fact]
    public async Task EngineSwitch_KnownAndUnknownGroup_StatReflectsIt()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");

        var unknown = await ctl.RunAsync("engine-disable", "nosuch");
        Assert.Equal(4, unknown.ExitCode);
        Assert.Contains("nosuch", unknown.Stderr);

        var disabled = await ctl.JsonAsync("engine-disable", "web");
        Assert.False(disabled.GetProperty("enabled").GetBoolean());
        var stat = await ctl.JsonAsync("engine-stat");
        output.WriteLine(stat.GetRawText());
        var web = stat.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("group").GetString() == "web");
        Assert.False(web.GetProperty("enabled").GetBoolean());
        Assert.StartsWith(daemon.EngineDir, web.GetProperty("regionPath").GetString());

        Assert.True((await ctl.JsonAsync("engine-enable", "web")).GetProperty("enabled").GetBoolean());
        var table = await ctl.OkAsync("engine-stat");
        Assert.Contains("web", table);
    }
}
