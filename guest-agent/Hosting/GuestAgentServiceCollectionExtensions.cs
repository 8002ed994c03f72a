using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OverlayKvm.GuestAgent.Channel;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Control;
using OverlayKvm.GuestAgent.Engine;
using OverlayKvm.GuestAgent.Hosting;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.GuestAgent.Transport;
using OverlayKvm.GuestAgent.Tun;

namespace Microsoft.Extensions.DependencyInjection;

internal static class GuestAgentServiceCollectionExtensions
{
    /// <summary>
    /// Registers the agent: datapath (state, counters, send/receive paths, UDP transport, adapters) and one hosted
    /// service per responsibility (reconcile/reaper, UDP receiver, control socket, host channel). TryAdd so tests
    /// can swap a part (e.g. the channel transport) before calling this.
    /// </summary>
    public static IServiceCollection AddGuestAgent(this IServiceCollection services, AgentOptions options)
    {
        services.TryAddSingleton(Options.Options.Create(options));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AgentState>();
        services.TryAddSingleton<DatapathCounters>();
        services.TryAddSingleton<AdapterTable>();
        services.TryAddSingleton<IpCommand>();
        services.TryAddSingleton(sp => new SnapshotCompiler(sp.GetRequiredService<DatapathCounters>(), sp.GetRequiredService<TimeProvider>(), options.OverlayPort));
        services.TryAddSingleton<UdpTransport>();
        services.TryAddSingleton<IFrameSender>(sp => sp.GetRequiredService<UdpTransport>());
        services.TryAddSingleton(options.Transmission);
        services.TryAddSingleton<SharedFrameSender>();
        services.TryAddSingleton<TransmissionManager>();
        services.TryAddSingleton<SendPath>();
        services.TryAddSingleton<ReceivePath>();
        services.TryAddSingleton<AdapterManager>();
        services.TryAddSingleton<StatBuilder>();
        services.TryAddSingleton<HostChannelLink>();
        services.TryAddSingleton<IHostChannelTransport>(_ => options.ChannelSocket is null
            ? new VirtioSerialTransport()
            : new UnixListenerTransport(options.ChannelSocket));
        // The host's counter request (`overlayctl domain-stat`): answered from the same StatBuilder as `overlay-agent stat`.
        services.AddSingleton<IHostChannelHandler, CounterRequestHandler>();
        // Directory lookups on a miss (seed 002 R4–R5): the send path asks overlayd for destinations its document lacks.
        services.TryAddSingleton<LearnedRoutes>();
        services.TryAddSingleton<DirectoryLookups>();
        services.AddSingleton<IHostChannelHandler>(sp => sp.GetRequiredService<DirectoryLookups>());
        services.AddHostedService(sp => sp.GetRequiredService<DirectoryLookups>());
        services.AddHostedService<AppReaperService>();
        services.AddHostedService<UdpReceiveService>();
        services.AddHostedService<ControlSocketService>();
        services.AddHostedService<HostChannelService>();
        services.AddHostedService<TransmissionHousekeepingService>();
        // Services as apps: systemd units declared in apps.d, followed over D-Bus (docs/guest-agent.md).
        services.AddHostedService<OverlayKvm.GuestAgent.Services.UnitFollowerService>();
        if (options.EngineEnabled)
        {
            // The engine path (docs/guest-agent.md): hypercalls on the host channel, region attachments, ring receive worker.
            services.TryAddSingleton<EngineDatapath>();
            services.TryAddSingleton<EngineHypercalls>();
            services.AddSingleton<IHostChannelHandler>(sp => sp.GetRequiredService<EngineHypercalls>());
            services.TryAddSingleton(_ => new EngineRegionOpener(options.EngineDirectory));
            services.TryAddSingleton<EngineReceivePath>();
            services.TryAddSingleton<EngineControlService>();
            services.AddHostedService(sp => sp.GetRequiredService<EngineControlService>());
            services.AddHostedService<EngineReceiveService>();
            services.TryAddSingleton<IEngineMoves>(sp => sp.GetRequiredService<EngineControlService>());
        }

        // Leave/join around a live migration (docs/migration.md): without an engine, a leave is answered at once.
        services.AddSingleton<IHostChannelHandler>(sp => new EngineMoveHandler(sp.GetService<IEngineMoves>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<EngineMoveHandler>>()));
        return services;
    }
}
