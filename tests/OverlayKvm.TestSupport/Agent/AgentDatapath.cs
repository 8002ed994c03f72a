using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Hosting;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;

namespace OverlayKvm.TestSupport.Agent;

/// <summary>
/// One agent's datapath as the product wires it: resolved from <c>AddGuestAgent</c> with doubles registered first
/// at the seams (the underlay <see cref="IFrameSender"/>, the clock). Tests and the bench get the same
/// state/counters/compiler/transmission/send/receive graph overlay-agent runs, so a new dependency of a stage
/// reaches them without editing each test's hand wiring. TUN sinks are set per group on <see cref="Adapters"/>.
/// Hosted services are registered but never started: the test drives the paths itself.
/// </summary>
internal sealed class AgentDatapath : IDisposable
{
    private readonly ServiceProvider _services;

    /// <param name="underlay">Where sealed frames go instead of the UDP socket.</param>
    /// <param name="time">The clock every stage reads (rule TTLs, key retirement, negotiation retries).</param>
    /// <param name="transmission">Transmission options (policy limits); the product's defaults when null.</param>
    /// <param name="swap">Registers further doubles before AddGuestAgent (TryAdd keeps them), e.g. an EngineDatapath or an IpCommand.</param>
    /// <param name="configure">Adjusts the agent's options (state directory, control socket); the engine path is off unless set here.</param>
    public AgentDatapath(IFrameSender underlay, TimeProvider time, TransmissionOptions? transmission = null,
        Action<IServiceCollection>? swap = null, Action<AgentOptions>? configure = null)
    {
        var options = new AgentOptions { EngineEnabled = false, Transmission = transmission ?? new TransmissionOptions() };
        configure?.Invoke(options);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(time);
        services.AddSingleton(underlay);
        swap?.Invoke(services);
        services.AddGuestAgent(options);
        // The underlay double replaces the socket: nothing in a test may bind the overlay port (parallel tests would
        // collide on it), and AdapterManager's optional UdpTransport then stays null as it does without a socket.
        services.RemoveAll<OverlayKvm.GuestAgent.Transport.UdpTransport>();
        // Resolve eagerly so a broken registration fails in the fixture, not in the middle of a test's first packet.
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        State = Get<AgentState>();
        Counters = Get<DatapathCounters>();
        Adapters = Get<AdapterTable>();
        Compiler = Get<SnapshotCompiler>();
        Transmission = Get<TransmissionManager>();
        Sealing = Get<SharedFrameSender>();
        Send = Get<SendPath>();
        Receive = Get<ReceivePath>();
    }

    public AgentState State { get; }

    public DatapathCounters Counters { get; }

    public AdapterTable Adapters { get; }

    public SnapshotCompiler Compiler { get; }

    public TransmissionManager Transmission { get; }

    /// <summary>The sealing of control and data frames the send path and the transmission manager share.</summary>
    public SharedFrameSender Sealing { get; }

    public SendPath Send { get; }

    public ReceivePath Receive { get; }

    /// <summary>Any other part of the agent's graph (e.g. DirectoryLookups, HostChannelLink, EngineReceivePath).</summary>
    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    /// <summary>Compiles a document against the current snapshot and publishes it, as the host channel does on a push.</summary>
    public void Publish(OverlayKvm.Core.Config.DomainConfigDocument document) => State.Publish(Compiler.Compile(document, State.Current));

    /// <summary>The adapters the control socket and host channel program (TUN devices and ip rules when used).</summary>
    public OverlayKvm.GuestAgent.Tun.AdapterManager AdapterManager => Get<OverlayKvm.GuestAgent.Tun.AdapterManager>();

    public void Dispose() => _services.Dispose();
}
