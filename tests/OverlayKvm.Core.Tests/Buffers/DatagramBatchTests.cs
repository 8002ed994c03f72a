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
    public void Segmentation_SendsARunAsOneMessage_ReceivedAsItsDatagrams()
    {
        using var send = new DatagramBatch(8, 2048) { Segmentation = true };
        SocketAddress to = _b.LocalEndPoint!.Serialize();
        int[] lengths = [1000, 1000, 1000, 1000, 1000, 600];
        QueueFilled(send, lengths, to);

        Assert.Equal(0, send.Flush(_a.SafeHandle));

        Assert.Equal(1, send.LastMessages);
        Assert.False(send.SegmentationRefused);
        List<byte[]> got = ReceiveAll(lengths.Length);
        Assert.Equal(lengths, got.Select(d => d.Length).ToArray());
        Assert.All(got.Select((d, i) => (d, i)), x => Assert.Equal(-1, x.d.AsSpan().IndexOfAnyExcept((byte)(x.i + 1))));
    }

    [Fact]
    public void Segmentation_RunsEndAtAnotherDestinationALargerDatagramOrAShortOne()
    {
        using var c = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        c.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var send = new DatagramBatch(8, 2048) { Segmentation = true };
        SocketAddress toB = _b.LocalEndPoint!.Serialize();
        // B: [900 900 500] [900 900]; C: [900]; B: [900]
        QueueFilled(send, [900, 900, 500, 900, 900], toB);
        QueueFilled(send, [900], c.LocalEndPoint!.Serialize(), start: 5);
        QueueFilled(send, [900], toB, start: 6);

        Assert.Equal(0, send.Flush(_a.SafeHandle));

        Assert.Equal(4, send.LastMessages);
        List<byte[]> atB = ReceiveAll(6);
        Assert.Equal([900, 900, 500, 900, 900, 900], atB.Select(d => d.Length).ToArray());
        Assert.Equal([1, 2, 3, 4, 5, 7], atB.Select(d => (int)d[0]).ToArray());
        Assert.True(FdIo.WaitReadable(c.SafeHandle, 5000));
        Assert.Equal(900, c.Receive(new byte[2048]));
    }

    [Fact]
    public void Gro_ReceivesARunAsOneBuffer_WithItsSegmentSize()
    {
        Span<byte> on = stackalloc byte[4];
        on[0] = 1;
        _b.SetRawSocketOption(OverlayKvm.Core.Interop.Interop.SOL_UDP, OverlayKvm.Core.Interop.Interop.UDP_GRO, on);
        using var send = new DatagramBatch(8, 2048) { Segmentation = true };
        using var receive = new DatagramBatch(2, 65536);
        QueueFilled(send, [1200, 1200, 1200, 700], _b.LocalEndPoint!.Serialize());
        Assert.Equal(0, send.Flush(_a.SafeHandle));

        Assert.True(FdIo.WaitReadable(_b.SafeHandle, 5000));
        Assert.Equal(1, receive.Receive(_b.SafeHandle, out _));

        Assert.Equal(4300, receive.ReceivedLength(0));
        Assert.Equal(1200, receive.ReceivedSegmentSize(0));
        for (int k = 0; k < 4; k++)
        {
            int length = k < 3 ? 1200 : 700;
            Assert.Equal(-1, receive.Slot(0).Slice(k * 1200, length).IndexOfAnyExcept((byte)(k + 1)));
        }
    }

    [Fact]
    public void NoGro_ASingleDatagram_HasNoSegmentSize()
    {
        using var receive = new DatagramBatch(2, 2048);
        _a.SendTo(new byte[300], _b.LocalEndPoint!);
        Assert.True(FdIo.WaitReadable(_b.SafeHandle, 5000));
        Assert.Equal(1, receive.Receive(_b.SafeHandle, out _));
        Assert.Equal(0, receive.ReceivedSegmentSize(0));
    }

    private static void QueueFilled(DatagramBatch batch, int[] lengths, SocketAddress to, int start = 0)
    {
        for (int i = 0; i < lengths.Length; i++)
        {
            batch.Slot(start + i).Slice(0, lengths[i]).Fill((byte)(start + i + 1));
            Assert.True(batch.Queue(0, lengths[i], to));
        }
    }

    /// <summary>The next <paramref name="count"/> datagrams that reach B, in order.</summary>
    private List<byte[]> ReceiveAll(int count)
    {
        var got = new List<byte[]>();
        var buffer = new byte[65536];
        while (got.Count < count)
        {
            Assert.True(FdIo.WaitReadable(_b.SafeHandle, 5000), $"only {got.Count} of {count} datagrams arrived");
            int n = _b.Receive(buffer);
            got.Add(buffer.AsSpan(0, n).ToArray());
        }
        return got;
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
