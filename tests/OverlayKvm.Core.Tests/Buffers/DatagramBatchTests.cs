using System.Net;
using System.Net.Sockets;
using OverlayKvm.Core.Buffers;
using OverlayKvm.Core.Interop;

namespace OverlayKvm.Core.Tests.Buffers;

/// <summary>sendmmsg/recvmmsg batches over loopback.</summary>
public sealed class DatagramBatchTests : IDisposable
{
    private readonly Socket _a = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Socket _b = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    public DatagramBatchTests()
    {
        _a.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _b.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public void FlushThenReceive_MovesEveryDatagramWithLengthAndSource()
    {
        using var send = new DatagramBatch(8, 2048);
        using var receive = new DatagramBatch(8, 2048);
        SocketAddress to = _b.LocalEndPoint!.Serialize();
        for (int i = 0; i < 5; i++)
        {
            send.Slot(i).Slice(0, 100 + i).Fill((byte)(i + 1));
            Assert.True(send.Queue(0, 100 + i, to));
        }
        Assert.Equal(5, send.Count);
        Assert.Equal(0, send.Flush(_a.SafeHandle));
        Assert.Equal(0, send.Count);

        Assert.True(FdIo.WaitReadable(_b.SafeHandle, 5000));
        int got = 0;
        while (got < 5)
        {
            int n = receive.Receive(_b.SafeHandle, out Errno errno);
            Assert.True(n >= 0, $"recvmmsg failed: {errno}");
            for (int i = 0; i < n; i++)
            {
                int k = got + i;
                Assert.Equal(100 + k, receive.ReceivedLength(i));
                Assert.False(receive.ReceivedTruncated(i));
                Assert.Equal(0x7F000001u, receive.ReceivedSourceIpv4(i));
                Assert.Equal(-1, receive.Slot(i).Slice(0, 100 + k).IndexOfAnyExcept((byte)(k + 1)));
            }
            got += n;
            if (got < 5)
            {
                FdIo.WaitReadable(_b.SafeHandle, 5000);
            }
        }
    }

    [Fact]
    public void Receive_DatagramLargerThanSlot_FlaggedTruncated()
    {
        using var receive = new DatagramBatch(2, 64);
        _a.SendTo(new byte[200], _b.LocalEndPoint!);
        Assert.True(FdIo.WaitReadable(_b.SafeHandle, 5000));
        Assert.Equal(1, receive.Receive(_b.SafeHandle, out _));
        Assert.True(receive.ReceivedTruncated(0));
    }

    [Fact]
    public void Receive_NothingReady_ReturnsZero()
    {
        using var receive = new DatagramBatch(2, 64);
        Assert.Equal(0, receive.Receive(_b.SafeHandle, out Errno errno));
        Assert.Equal(Errno.EAGAIN, errno); // a result, not an error
    }

    [Fact]
    public void Queue_BeyondCapacityOrSlot_Refused()
    {
        using var batch = new DatagramBatch(1, 64);
        SocketAddress to = _b.LocalEndPoint!.Serialize();
        Assert.False(batch.Queue(0, 65, to));
        Assert.True(batch.Queue(0, 64, to));
        Assert.False(batch.Queue(0, 1, to));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Slot(1));
    }
}
