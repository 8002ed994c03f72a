using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Channel;
using OverlayKvm.Fuzz.Fixtures;
using OverlayKvm.GuestAgent.Channel;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Engine;
using OverlayKvm.GuestAgent.Hosting;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.GuestAgent.Tun;
using OverlayKvm.TestSupport.Agent;
using OverlayKvm.TestSupport.Doubles;

namespace OverlayKvm.Fuzz.Targets;

/// <summary>
/// The host's messages as the agent reads them: the input is the byte stream overlayd writes on the channel, read by
/// the agent's <c>HostChannelService</c> handler (hello, configuration documents compiled by the real
/// <c>SnapshotCompiler</c> and published, heartbeats, errors) and its engine handler (register/query/deregister
/// answers, directory-changed pushes) and its engine leave/join handler (an agent without an engine: a leave is answered at once). No app is registered, so applying a document runs no <c>ip</c> command.
/// Rejection: <see cref="ChannelProtocolException"/> (a framing violation closes the channel, by design).
/// </summary>
internal sealed class ChannelAgentTarget : FuzzTarget
{
    private readonly ScratchDirectory _state = new("agent");

    public override string Name => "channel-agent";

    // A fresh agent per input: a document's version only has to beat the previous input's, not every earlier one's,
    // so the same input takes the same path on every run.
    protected override void Execute(ReadOnlySpan<byte> input)
    {
        using var agent = new AgentDatapath(new CapturingSender(), new FixedTime(), configure: o => o.StateDirectory = _state.Path);
        using HostChannelService service = NewService(agent);
        ChannelScript.Play(input, (connection, message) => service.HandleAsync(connection, message, CancellationToken.None));
    }

    // The channel service over the agent's AddGuestAgent graph, with the engine's hypercall handler on its link.
    private HostChannelService NewService(AgentDatapath agent)
    {
        var link = agent.Get<HostChannelLink>();
        return new HostChannelService(new UnixListenerTransport(Path.Combine(_state.Path, "unused.sock")), agent.State,
            agent.Compiler, agent.AdapterManager, NullLogger<HostChannelService>.Instance, link, [new EngineHypercalls(link), new EngineMoveHandler(null, NullLogger<EngineMoveHandler>.Instance)]);
    }

    protected override bool IsRejection(Exception ex) => ex is ChannelProtocolException;

    public override void Dispose()
    {
        _state.Dispose();
    }
}
