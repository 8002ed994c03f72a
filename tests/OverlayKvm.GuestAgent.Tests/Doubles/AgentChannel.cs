using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Channel;
using OverlayKvm.GuestAgent.Channel;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.TestSupport;
using OverlayKvm.TestSupport.Agent;

namespace OverlayKvm.GuestAgent.Tests.Doubles;

/// <summary>
/// The agent's end of the host channel on a Unix socket (dir/channel.sock), applying documents to an AddGuestAgent
/// datapath: what the channel tests share instead of each wiring state, compiler and adapters by hand.
/// </summary>
internal static class AgentChannel
{
    public const string SocketName = "channel.sock";

    public static (HostChannelService Service, AgentState State) NewService(string dir, HostChannelLink? link = null, IHostChannelHandler[]? handlers = null)
    {
        var agent = new AgentDatapath(new CapturingSender(), TestClock.Create(), configure: o => o.StateDirectory = Path.Combine(dir, "state"));
        var transport = new UnixListenerTransport(Path.Combine(dir, SocketName));
        var service = new HostChannelService(transport, agent.State, agent.Compiler, agent.AdapterManager, NullLogger<HostChannelService>.Instance, link, handlers);
        return (service, agent.State);
    }

    /// <summary>Connects as overlayd does once the agent listens: small messages from the guest, up to maxSendSize to it.</summary>
    public static async Task<ChannelConnection> ConnectHostAsync(string dir, int? maxSendSize = null)
    {
        string path = Path.Combine(dir, SocketName);
        await Poll.UntilAsync(() => File.Exists(path), TimeSpan.FromSeconds(10), $"the agent listens on {path}");
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return new ChannelConnection(new NetworkStream(socket, ownsSocket: true), ChannelProtocol.DefaultMaxMessageSize, maxSendSize);
    }
}
