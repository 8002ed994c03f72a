using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.Fuzz.Fixtures;
using OverlayKvm.HostDaemon.Channel;

namespace OverlayKvm.Fuzz.Targets;

/// <summary>
/// The guest is untrusted to the host: the input is what domain fz-vm1's agent writes on its channel, read by
/// overlayd's <c>DomainChannelClient</c> handler (hello, config acks, app events, errors, heartbeats, and the engine
/// register/query/deregister requests that reach the real <c>EngineRegistry</c> and its region files).
/// Rejection: <see cref="ChannelProtocolException"/> (a framing violation closes the channel, by design).
/// </summary>
internal sealed class ChannelHostTarget : FuzzTarget
{
    private readonly HostSide _host = new();
    private readonly DomainChannelClient _client;

    public ChannelHostTarget()
    {
        var document = new DomainConfigDocument(DomainConfigDocument.CurrentFormat, HostSide.Domain, 1, "", null, "fz-host", [], []);
        _client = new DomainChannelClient(HostSide.Domain, "/nonexistent/fz.agent.sock", () => document, NullLogger.Instance, _host.Time, _host.Engine);
    }

    public override string Name => "channel-host";

    protected override void Execute(ReadOnlySpan<byte> input) =>
        ChannelScript.Play(input, (connection, message) => _client.HandleAsync(connection, message, CancellationToken.None));

    protected override bool IsRejection(Exception ex) => ex is ChannelProtocolException;

    public override void Dispose()
    {
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _host.Dispose();
    }
}
