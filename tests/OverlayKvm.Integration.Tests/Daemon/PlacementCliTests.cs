using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Daemon;

/// <summary>overlayd's placement knows this host by the name and capacity the inventory has (--host-name), not the machine name.</summary>
public sealed class PlacementCliTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DomainPlace_UsesTheDaemonsHostName_NoPhantomMachineHost()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");
        await ctl.OkAsync("app-define", "web", "fe", "--domain", "vm1");

        var placement = await ctl.JsonAsync("domain-place", "vm1");
        output.WriteLine(placement.GetRawText());

        Assert.Contains("\"testhost\"", placement.GetRawText());
        if (Environment.MachineName != "testhost")
            Assert.DoesNotContain($"\"{Environment.MachineName}\"", placement.GetRawText());
    }
}
