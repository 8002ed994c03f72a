using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.EndToEnd;

/// <summary>
/// The end-to-end tests' testbed on <see cref="TwoNamespaceOverlay"/>: group web (10.1.0.0/16) with app "client"
/// (<see cref="Client"/>) on vmA and the given apps on vmB, defined with overlayctl and pushed by overlayd to both
/// agents. Optionally overlayd reaches vmA's agent through a <see cref="ChannelProxy"/> that a test can make hold
/// documents back. Apps are started by the test (<see cref="TwoNamespaceOverlay.StartApp"/>).
/// </summary>
internal sealed class WebGroupScenario : TwoNamespaceOverlay
{
    public const string Client = "10.1.0.1";

    private readonly bool _proxyA;

    private WebGroupScenario(bool proxyA)
        : base("okvm-web-")
    {
        _proxyA = proxyA;
    }

    /// <summary>The proxy on vmA's channel (null unless asked for).</summary>
    public ChannelProxy? ProxyA { get; private set; }

    /// <param name="groupOptions">More group-define options for web (e.g. --cipher aegis-256).</param>
    /// <param name="agentBinary">Another overlay-agent than the build's (e.g. a packaged one); null for the default.</param>
    public static Task<WebGroupScenario> CreateAsync(string roleA, string roleB, string underlay24, (string App, string Address)[] vmBApps, bool proxyA = false,
        string[]? groupOptions = null, string? agentBinary = null) =>
        BuildAsync(new WebGroupScenario(proxyA), async s =>
        {
            await s.StartUnderlayAsync(roleA, roleB, underlay24 + ".1", underlay24 + ".2");
            await s.Ctl.OkAsync(["group-define", "web", "--cidr", "10.1.0.0/16", .. groupOptions ?? []]);
            await s.Ctl.OkAsync("app-define", "web", "client", "--domain", "vmA", "--address", Client);
            foreach (var (app, address) in vmBApps)
            {
                await s.Ctl.OkAsync("app-define", "web", app, "--domain", "vmB", "--address", address);
            }
            await s.StartAgentsAsync([], agentBinary);
        });

    protected override string ChannelEndpoint(AgentProcess agent)
    {
        if (!_proxyA || agent.Domain != "vmA")
        {
            return agent.ChannelSocket;
        }
        string listen = Path.Combine(Work, "proxy-a.sock");
        ProxyA = TrackAsyncDisposable(new ChannelProxy(listen, agent.ChannelSocket));
        return listen;
    }
}
