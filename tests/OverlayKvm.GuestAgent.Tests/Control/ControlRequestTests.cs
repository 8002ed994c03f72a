using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Control;
using OverlayKvm.GuestAgent.Hosting;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;
using OverlayKvm.GuestAgent.Tun;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.TestSupport;
using OverlayKvm.TestSupport.Agent;

namespace OverlayKvm.GuestAgent.Tests.Control;

public sealed class ControlRequestTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ovk-control-test-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private void Configure(AgentOptions o)
    {
        o.StateDirectory = _dir;
        o.ControlSocket = Path.Combine(_dir, "c.sock");
    }

    // The control socket over vmA's AddGuestAgent graph (its adapters and stat builder), as overlay-agent serves it.
    private static ControlSocketService NewService(AgentDatapath agent) =>
        new(agent.Get<IOptions<AgentOptions>>(), agent.AdapterManager, agent.Get<StatBuilder>(), NullLogger<ControlSocketService>.Instance);

    [Theory]
    [InlineData("garbage", "not valid JSON")]
    [InlineData("null", "JSON null")]
    [InlineData("{\"op\":\"reboot\"}", "op 'reboot' is unknown")]
    [InlineData("{\"op\":\"register\",\"pid\":1}", "field 'app' is required")]
    [InlineData("{\"op\":\"register\",\"app\":\"a\"}", "field 'pid' must be a positive")]
    [InlineData("{\"op\":\"register\",\"app\":\"a\",\"pid\":-4}", "field 'pid' must be a positive")]
    [InlineData("{\"op\":\"register\",\"app\":\"a\",\"pid\":1}", "no configuration document received")]
    [InlineData("{\"op\":\"unregister\",\"app\":\"a\",\"pid\":1}", "is not registered")]
    public void Handle_BadRequests_AnsweredWithClearError(string line, string expected)
    {
        ControlResponse r = NewService(new AgentDatapath(new CapturingSender(), TestClock.Create(), configure: Configure)).Handle(line);
        Assert.False(r.Ok);
        Assert.Contains(expected, r.Error);
    }

    [Fact]
    public void Handle_RegisterUnknownApp_NamesAppAndDomain()
    {
        var t = new TwoAgents(configureA: Configure);
        ControlResponse r = NewService(t.A).Handle("{\"op\":\"register\",\"app\":\"ghost\",\"pid\":1}");
        Assert.False(r.Ok);
        Assert.Contains("app 'ghost' is not configured for domain vmA", r.Error);
    }

    [Fact]
    public void Handle_Stat_ReportsCountersAndDropsByName()
    {
        var t = new TwoAgents(configureA: Configure);
        t.CountersA.Drop(DropReason.Replay);
        t.CountersA.ForGroup("web").Sealed.CountOut(100);
        ControlResponse r = NewService(t.A).Handle("{\"op\":\"stat\"}");
        Assert.True(r.Ok);
        Assert.Equal(1, r.Stat!.Drops["replay"]);
        Assert.Equal(0, r.Stat.Drops["auth"]);
        var g = Assert.Single(r.Stat.Groups);
        Assert.Equal(100, g.Sealed.BytesOut);
        Assert.Equal(1, g.SendEpoch);
        Assert.Equal("vmA", r.Stat.Domain);
        string text = OverlayKvm.GuestAgent.Cli.StatCommand.Format(r.Stat);
        Assert.Contains("replay=1", text);
        Assert.Contains("web", text);
    }
}
