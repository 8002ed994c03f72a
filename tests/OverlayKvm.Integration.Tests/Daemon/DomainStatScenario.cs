using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Daemon;

/// <summary>
/// Counters visible from the host: overlayd with its Prometheus endpoint on a unix socket, group web with app client
/// (10.1.0.1) on vmA and server (10.1.0.2) on vmB, sealed path (engine off), both apps started.
/// </summary>
internal sealed class DomainStatScenario : TwoNamespaceOverlay
{
    public const string Client = "10.1.0.1";
    public const string Server = "10.1.0.2";

    private DomainStatScenario()
        : base("as-stat-")
    {
        MetricsSocket = Path.Combine(Daemon.Root, "metrics.sock");
        Daemon.ExtraArguments = ["--metrics-listen", MetricsSocket];
    }

    public string MetricsSocket { get; }

    public static Task<DomainStatScenario> CreateAsync() =>
        BuildAsync(new DomainStatScenario(), async s =>
        {
            await s.StartUnderlayAsync("as-sa", "as-sb", "10.97.0.1", "10.97.0.2");
            await s.Ctl.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");
            await s.Ctl.OkAsync("app-define", "web", "client", "--domain", "vmA", "--address", Client);
            await s.Ctl.OkAsync("app-define", "web", "server", "--domain", "vmB", "--address", Server);
            await s.StartAgentsAsync(["--no-engine"]);
            s.StartApp(s.AgentA, "client", Client);
            s.StartApp(s.AgentB, "server", Server);
        });
}
