using System.Net;
using System.Text;
using System.Text.Json;
using OverlayKvm.Cli.Client;
using OverlayKvm.Cli.Commands;
using OverlayKvm.Core.Api;

namespace OverlayKvm.Cli.Tests.Commands;

/// <summary>Issue 15: <c>rebalance --dry-run | --apply</c>, <c>domain-pin</c>, <c>domain-unpin</c> against a canned overlayd.</summary>
public sealed class RebalanceCommandsTests
{
    private static readonly RebalancePlanView Plan = new(
        [new RebalanceProposal("vmB", "hB", "hA", 51_234.4, 0, "vmB exchanges 51234 B/s over the network with vmA on hA")],
        [new PeerPairTraffic("vmA", "hA", "vmB", "hB", 51_234.4, 0, true)], 2, 60, ["host hC: not alive, its traffic summary is ignored"]);

    private readonly List<string> _requests = [];

    private async Task<(int Code, string Out, string Err)> RunAsync(Func<HttpRequestMessage, (HttpStatusCode, string)> answer, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var http = new HttpClient(new CannedHandler(r => { _requests.Add($"{r.Method} {r.RequestUri!.AbsolutePath}"); return answer(r); }))
        {
            BaseAddress = new Uri("http://overlayd/"),
        };
        var g = new CliGlobals(output, error) { ClientFactory = (_, _) => new OverlayApiClient(http, "overlayd (test)", ownsHttp: false) };
        int code = await OverlayCtl.InvokeAsync(OverlayCtl.BuildRoot(g), g, args, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task DryRun_PrintsEachProposalWithTheBytesItWouldMove_AndOnlyReads()
    {
        var (code, stdout, _) = await RunAsync(_ => (HttpStatusCode.OK, JsonSerializer.Serialize(Plan, RebalanceJsonContext.Default.RebalancePlanView)), "rebalance", "--dry-run");

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(["GET /v1/rebalance"], _requests);
        Assert.Contains("vmB", stdout);
        Assert.Contains("51234", stdout);
        Assert.Contains("hB", stdout);
        Assert.Contains("moves left this hour: 2", stdout);
        Assert.Contains("note: host hC: not alive", stdout);
    }

    [Fact]
    public async Task DryRunJson_IsThePlanAsOverlaydSentIt()
    {
        var (code, stdout, _) = await RunAsync(_ => (HttpStatusCode.OK, JsonSerializer.Serialize(Plan, RebalanceJsonContext.Default.RebalancePlanView)), "--json", "rebalance", "--dry-run");

        Assert.Equal(ExitCodes.Ok, code);
        var back = JsonSerializer.Deserialize(stdout, RebalanceJsonContext.Default.RebalancePlanView)!;
        Assert.Equal(Plan.Proposals, back.Proposals);
    }

    [Fact]
    public async Task Apply_Posts_PrintsTheMove_AFailedMoveExitsNonZeroWithLibvirtsReason()
    {
        var ok = new RebalanceApplyView([new RebalanceMoveResult("vmB", "hB", "hA", 51_234, true, 6.2, null)], Plan);
        var (code, stdout, _) = await RunAsync(_ => (HttpStatusCode.OK, JsonSerializer.Serialize(ok, RebalanceJsonContext.Default.RebalanceApplyView)), "rebalance", "--apply");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(["POST /v1/rebalance/apply"], _requests);
        Assert.Contains("moved", stdout);

        var failed = ok with { Moves = [new RebalanceMoveResult("vmB", "hB", "hA", 51_234, false, 0.3, "virsh migrate hB → hA failed (exit 1): shmem")] };
        var (code2, _, stderr) = await RunAsync(_ => (HttpStatusCode.OK, JsonSerializer.Serialize(failed, RebalanceJsonContext.Default.RebalanceApplyView)), "rebalance", "--apply");
        Assert.NotEqual(ExitCodes.Ok, code2);
        Assert.Contains("migration of vmB from hB to hA failed", stderr);
    }

    [Theory]
    [InlineData("rebalance")]
    [InlineData("rebalance", "--dry-run", "--apply")]
    [InlineData("domain-pin")]
    public async Task BadCommandLine_Exit2_NothingAsked(params string[] args)
    {
        var (code, _, stderr) = await RunAsync(_ => (HttpStatusCode.OK, "{}"), args);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("overlayctl: ", stderr);
        Assert.Empty(_requests);
    }

    [Fact]
    public async Task PinAndUnpin_PutAndDeleteTheDomainsPin_UnknownDomainIsOverlaydsError()
    {
        var (code, stdout, _) = await RunAsync(r => (HttpStatusCode.OK, JsonSerializer.Serialize(new DomainPinView("vm1", r.Method == HttpMethod.Put), RebalanceJsonContext.Default.DomainPinView)),
            "domain-pin", "vm1");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("Domain vm1 pinned", stdout);
        (code, stdout, _) = await RunAsync(r => (HttpStatusCode.OK, JsonSerializer.Serialize(new DomainPinView("vm1", r.Method == HttpMethod.Put), RebalanceJsonContext.Default.DomainPinView)),
            "domain-unpin", "vm1");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("Domain vm1 unpinned", stdout);
        Assert.Equal(["PUT /v1/domains/vm1/pin", "DELETE /v1/domains/vm1/pin"], _requests);

        var (code3, _, stderr) = await RunAsync(_ => (HttpStatusCode.NotFound, """{"error":"domain 'ghost' not found"}"""), "domain-pin", "ghost");
        Assert.NotEqual(ExitCodes.Ok, code3);
        Assert.Contains("ghost", stderr);
    }

    private sealed class CannedHandler(Func<HttpRequestMessage, (HttpStatusCode Status, string Body)> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var (status, body) = answer(request);
            return Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
        }
    }
}
