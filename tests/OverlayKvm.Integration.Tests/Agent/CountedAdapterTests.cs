using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Agent;

/// <summary>Show 3 (R0.8, R0.9, R0.5): the adapter lives exactly as long as the apps it serves; checked with `ip`.</summary>
[Collection(AgentCollection.Name)]
public sealed class CountedAdapterTests
{
    private static List<string> OverlayDevices(NetNamespace ns) =>
        ns.Ip("-o", "link", "show").Split('\n').Where(l => l.Contains(": ovk", StringComparison.Ordinal)).Select(l => l.Split(':')[1].Trim()).ToList();

    [Fact]
    public async Task TwoAppsStartAndStop_OneAdapter_RemovedWithAddressesRoutesAndRulesAfterTheLast()
    {
        await using var t = await TwoVmTopology.CreateAsync(viaRelay: false);
        t.Docs.Apps.Add(new TestApp("alpha", "10.1.0.3", "vmA", 103));
        t.Docs.Apps.Add(new TestApp("beta", "10.1.0.4", "vmA", 104));
        await t.PushAsync();
        Assert.Empty(OverlayDevices(t.A));

        string mainBefore = t.A.Ip("route", "show", "table", "main");
        var alpha = t.StartApp(t.AgentA, "alpha", "10.1.0.3");
        var beta = t.StartApp(t.AgentA, "beta", "10.1.0.4");
        List<string> devices = OverlayDevices(t.A);
        Assert.Single(devices);
        string dev = devices[0];
        string addrs = t.A.Ip("-4", "addr", "show", "dev", dev);
        Assert.Contains("10.1.0.3/32", addrs);
        Assert.Contains("10.1.0.4/32", addrs);
        Assert.Contains("mtu 1424", t.A.Ip("link", "show", dev)); // 1500 - 28 (outer IPv4+UDP) - 48 (sealed frame v2 header + tag)
        string rules = t.A.Ip("rule", "show");
        Assert.Contains("from 10.1.0.3 lookup 103", rules);
        Assert.Contains("from 10.1.0.4 lookup 104", rules);
        // Claim 12: the overlay route's gateway is the adapter.
        Assert.Contains($"10.1.0.0/16 dev {dev}", t.A.Ip("route", "show", "table", "103"));
        // R0.9: the VM's own routing table routes the overlay to the adapter while it runs (so unmodified clients
        // that do not bind their overlay address reach their peers); nothing else in it changes.
        string main = t.A.Ip("route", "show", "table", "main");
        Assert.Contains($"10.1.0.0/16 dev {dev}", main);
        Assert.Equal(mainBefore, main.Replace($"10.1.0.0/16 dev {dev} scope link \n", "", StringComparison.Ordinal));
        var stat = AgentControl.Stat(t.AgentA.ControlSocket)["adapters"]!.AsArray();
        Assert.Single(stat);
        Assert.Equal(2, stat[0]!["count"]!.GetValue<int>());
        // The same through the command line (R0.10): table and --json.
        var (code, text, err) = t.A.Exec(Prerequisites.AgentBinary(), "stat", "--control", t.AgentA.ControlSocket);
        Assert.True(code == 0, $"overlay-agent stat failed: {err}");
        Assert.Contains($"adapter {dev} group web count 2 apps alpha,beta", text);
        Assert.Contains("drops: auth=0", text);
        (code, text, err) = t.A.Exec(Prerequisites.AgentBinary(), "stat", "--json", "--control", t.AgentA.ControlSocket);
        Assert.True(code == 0, $"overlay-agent stat --json failed: {err}");
        Assert.Equal(dev, System.Text.Json.Nodes.JsonNode.Parse(text)!["adapters"]![0]!["device"]!.GetValue<string>());

        alpha.Stop();
        Assert.Equal(new[] { dev }, OverlayDevices(t.A));
        addrs = t.A.Ip("-4", "addr", "show", "dev", dev);
        Assert.DoesNotContain("10.1.0.3/32", addrs);
        Assert.Contains("10.1.0.4/32", addrs);
        Assert.DoesNotContain("from 10.1.0.3 ", t.A.Ip("rule", "show"));
        Assert.Equal("", t.A.Ip("route", "show", "table", "103").Trim());

        beta.Stop();
        Assert.Empty(OverlayDevices(t.A));
        Assert.DoesNotContain("10.1.0.", t.A.Ip("rule", "show"));
        Assert.DoesNotContain("10.1.0.", t.A.Ip("-4", "addr", "show"));
        Assert.Equal("", t.A.Ip("route", "show", "table", "104").Trim());
        Assert.Equal(mainBefore, t.A.Ip("route", "show", "table", "main"));
        Assert.Empty(AgentControl.Stat(t.AgentA.ControlSocket)["adapters"]!.AsArray());
    }
}
