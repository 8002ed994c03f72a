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
        using HostChannelService service = NewAgent();
        ChannelScript.Play(input, (connection, message) => service.HandleAsync(connection, message, CancellationToken.None));
    }

    private HostChannelService NewAgent()
    {
        var state = new AgentState();
        var counters = new DatapathCounters();
        var table = new AdapterTable();
        var underlay = new CapturingUnderlay();
        var transmission = new TransmissionManager(state, new TransmissionOptions(), counters, new SharedFrameSender(underlay));
        var send = new SendPath(state, counters, underlay, table, transmission);
        var options = Options.Create(new AgentOptions { StateDirectory = _state.Path });
        var adapters = new AdapterManager(state, table, send, counters, new IpCommand(), options, NullLogger<AdapterManager>.Instance);
        var link = new HostChannelLink();
        return new HostChannelService(new UnixListenerTransport(Path.Combine(_state.Path, "unused.sock")), state,
            new SnapshotCompiler(counters, new FixedTime(), 7480), adapters, NullLogger<HostChannelService>.Instance, link,
            [new EngineHypercalls(link), new EngineMoveHandler(null, NullLogger<EngineMoveHandler>.Instance)]);
    }

    protected override bool IsRejection(Exception ex) => ex is ChannelProtocolException;

    public override void Dispose()
    {
        _state.Dispose();
    }
}
