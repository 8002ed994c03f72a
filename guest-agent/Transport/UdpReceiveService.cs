using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using OverlayKvm.Core.Buffers;
using OverlayKvm.Core.Interop;
using Microsoft.Extensions.Logging;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.GuestAgent.Transport;

/// <summary>
/// The long-lived receive worker: one dedicated thread polls the overlay socket, takes up to
/// <see cref="BurstSize"/> datagrams per recvmmsg into native slots, and runs each through
/// <see cref="ReceivePath"/> in place (a UDP_GRO buffer split into its datagrams first, <see cref="CoalescedDatagrams"/>).
/// No per-datagram allocation; one system call per burst, not per datagram.
/// </summary>
internal sealed partial class UdpReceiveService : BackgroundService
{
    /// <summary>Datagrams per recvmmsg.</summary>
    public const int BurstSize = 32;

    /// <summary>Largest UDP payload: anything larger is truncated and counted malformed.</summary>
    public const int SlotSize = 65536;

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
        using var batch = new DatagramBatch(BurstSize, SlotSize);
        SafeSocketHandle socket = _transport.Socket.SafeHandle;
        Log.Receiving(_logger, ((IPEndPoint)_transport.Socket.LocalEndPoint!).Port);
        while (!stoppingToken.IsCancellationRequested)
        {
            int n;
            Errno errno;
            try
            {
                if (!FdIo.WaitReadable(socket, 200))
                {
                    continue;
                }
                n = batch.Receive(socket, out errno);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            if (n < 0)
            {
                // ECONNREFUSED/EHOSTUNREACH: an ICMP error for something we sent, queued on the socket; not a datagram.
                if (errno is Errno.ECONNREFUSED or Errno.EHOSTUNREACH)
                {
                    continue;
                }
                if (!stoppingToken.IsCancellationRequested)
                {
                    Log.ReceiverFailed(_logger, new ErrnoException("recvmmsg on the overlay socket", errno));
                }
                return;
            }
            for (int i = 0; i < n; i++)
            {
                if (batch.ReceivedTruncated(i))
                {
                    _counters.Drop(DropReason.Malformed);
                    continue;
                }
                CoalescedDatagrams.Process(_receive, _counters, batch.Slot(i).Slice(0, batch.ReceivedLength(i)), batch.ReceivedSegmentSize(i), batch.ReceivedSourceIpv4(i));
            }
            _receive.Flush();
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
