using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.GuestAgent.Transport;

/// <summary>
/// The long-lived receive worker: one dedicated thread blocks on the overlay socket and runs every datagram
/// through <see cref="ReceivePath"/> in place, in one pinned 64 KiB buffer. No per-datagram allocation.
/// </summary>
internal sealed partial class UdpReceiveService : BackgroundService
{
    private readonly UdpTransport _transport;
    private readonly ReceivePath _receive;
    private readonly DatapathCounters _counters;
    private readonly ILogger<UdpReceiveService> _logger;

    public UdpReceiveService(UdpTransport transport, ReceivePath receive, DatapathCounters counters, ILogger<UdpReceiveService> logger)
    {
        _transport = transport;
        _receive = receive;
        _counters = counters;
        _logger = logger;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var thread = new Thread(() => Run(stoppingToken)) { IsBackground = true, Name = "overlay-udp-rx" };
        thread.Start();
        stoppingToken.Register(() => _transport.Socket.Close());
        return Task.CompletedTask;
    }

    private void Run(CancellationToken stoppingToken)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(65536, pinned: true);
        var from = new SocketAddress(AddressFamily.InterNetwork);
        Log.Receiving(_logger, ((IPEndPoint)_transport.Socket.LocalEndPoint!).Port);
        while (!stoppingToken.IsCancellationRequested)
        {
            int n;
            try
            {
                n = _transport.Socket.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.MessageSize)
            {
                // ICMP errors queued on the socket or an oversized datagram: not fatal for the receiver.
                _counters.Drop(DropReason.Malformed);
                continue;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                if (!stoppingToken.IsCancellationRequested)
                {
                    Log.ReceiverFailed(_logger, ex);
                }
                return;
            }
            // sockaddr_in: family (2), port (2, BE), address (4, BE).
            uint source = BinaryPrimitives.ReadUInt32BigEndian(from.Buffer.Span.Slice(4, 4));
            _receive.Process(buffer.AsSpan(0, n), source);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "overlay UDP receiver listening on port {Port}")]
        public static partial void Receiving(ILogger logger, int port);

        [LoggerMessage(2, LogLevel.Error, "overlay UDP receiver stopped")]
        public static partial void ReceiverFailed(ILogger logger, Exception ex);
    }
}
