using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using OverlayKvm.Core.Interop;
using CoreInterop = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.Core.Buffers;

/// <summary>
/// A fixed set of datagram slots in native memory (buffers, iovecs, sockaddrs and mmsghdrs), so that one
/// recvmmsg/sendmmsg moves up to <see cref="Capacity"/> datagrams per system call. Per-datagram system calls
/// are what limits a userspace tunnel first; batching divides their cost. Owned by one worker; not thread-safe.
/// </summary>
internal sealed unsafe class DatagramBatch : IDisposable
{
    private const int SockaddrSize = 16; // struct sockaddr_in
    private readonly byte* _memory;
    private readonly byte* _buffers;
    private readonly byte* _names;
    private readonly CoreInterop.IoVec* _iov;
    private readonly CoreInterop.MMsgHdr* _headers;
    private bool _disposed;

    public DatagramBatch(int capacity, int slotSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slotSize, 64);
        Capacity = capacity;
        SlotSize = slotSize;
        nuint total = (nuint)capacity * (nuint)(slotSize + SockaddrSize + sizeof(CoreInterop.IoVec) + sizeof(CoreInterop.MMsgHdr));
        // SAFETY: one zeroed native block carved into four arrays of `capacity` entries; freed once in Dispose.
        _memory = (byte*)NativeMemory.AllocZeroed(total);
        _headers = (CoreInterop.MMsgHdr*)_memory;
        _iov = (CoreInterop.IoVec*)(_memory + (capacity * sizeof(CoreInterop.MMsgHdr)));
        _names = (byte*)(_iov + capacity);
        _buffers = _names + (capacity * SockaddrSize);
    }

    public int Capacity { get; }

    public int SlotSize { get; }

    /// <summary>Slots filled for sending (see <see cref="Queue"/>).</summary>
    public int Count { get; private set; }

    /// <summary>The whole buffer of slot i.</summary>
    public Span<byte> Slot(int i)
    {
        // SAFETY: i is bounds-checked against Capacity; each slot is SlotSize bytes inside the native block.
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)i, (uint)Capacity);
        return new Span<byte>(_buffers + ((nint)i * SlotSize), SlotSize);
    }

    /// <summary>Marks slot <see cref="Count"/> as a datagram of length bytes (from the slot's start) to destination.</summary>
    public bool Queue(int offset, int length, SocketAddress destination)
    {
        if (Count >= Capacity || offset < 0 || length < 0 || offset + length > SlotSize || destination.Size > SockaddrSize)
        {
            return false;
        }
        int i = Count;
        // SAFETY: i < Capacity; name slot is SockaddrSize bytes and destination.Size ≤ SockaddrSize was checked.
        destination.Buffer.Span.Slice(0, destination.Size).CopyTo(new Span<byte>(_names + (i * SockaddrSize), SockaddrSize));
        _iov[i].Base = _buffers + ((nint)i * SlotSize) + offset;
        _iov[i].Length = (nuint)length;
        _headers[i].Header = new CoreInterop.MsgHdr
        {
            Name = _names + (i * SockaddrSize),
            NameLength = (uint)destination.Size,
            Iov = _iov + i,
            IovLength = 1,
        };
        Count++;
        return true;
    }

    /// <summary>
    /// Sends every queued datagram with sendmmsg (blocking socket: waits for buffer space, which is the
    /// backpressure we want). Returns how many were not sent (errors); resets the batch.
    /// </summary>
    public int Flush(SafeSocketHandle socket)
    {
        int sent = 0;
        int failed = 0;
        while (sent < Count)
        {
            // SAFETY: headers[sent..Count) were filled by Queue and point into this batch's native memory.
            int n = CoreInterop.SendMmsg(socket, _headers + sent, (uint)(Count - sent), 0);
            if (n > 0)
            {
                sent += n;
                continue;
            }
            Errno errno = IoCheck.LastErrno;
            if (errno == Errno.EINTR)
            {
                continue;
            }
            if (errno == Errno.EAGAIN)
            {
                FdIo.WaitWritable(socket, 100);
                continue;
            }
            // The first datagram failed (e.g. EHOSTUNREACH after an ICMP error): skip it, send the rest.
            sent++;
            failed++;
        }
        Count = 0;
        return failed;
    }

    /// <summary>
    /// Receives up to Capacity datagrams without blocking (call after the socket polled readable). Returns the
    /// count (0 when none was ready), or -1 with errno. Each slot's length and source come from
    /// <see cref="ReceivedLength"/>, <see cref="ReceivedTruncated"/> and <see cref="ReceivedSourceIpv4"/>.
    /// </summary>
    public int Receive(SafeSocketHandle socket, out Errno errno)
    {
        for (int i = 0; i < Capacity; i++)
        {
            _iov[i].Base = _buffers + ((nint)i * SlotSize);
            _iov[i].Length = (nuint)SlotSize;
            _headers[i].Header = new CoreInterop.MsgHdr { Name = _names + (i * SockaddrSize), NameLength = SockaddrSize, Iov = _iov + i, IovLength = 1 };
            _headers[i].Length = 0;
        }
        while (true)
        {
            // SAFETY: every header, iovec and name points into this batch's native memory, sized by Capacity.
            int n = CoreInterop.RecvMmsg(socket, _headers, (uint)Capacity, CoreInterop.MSG_DONTWAIT, null);
            if (n >= 0)
            {
                errno = Errno.None;
                return n;
            }
            errno = IoCheck.LastErrno;
            if (errno == Errno.EINTR)
            {
                continue;
            }
            if (errno == Errno.EAGAIN)
            {
                return 0;
            }
            return -1;
        }
    }

    public int ReceivedLength(int i) => (int)_headers[i].Length;

    public bool ReceivedTruncated(int i) => (_headers[i].Header.Flags & CoreInterop.MSG_TRUNC) != 0;

    /// <summary>Source IPv4 address of received slot i, big-endian (sockaddr_in bytes 4..8).</summary>
    public uint ReceivedSourceIpv4(int i) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(_names + (i * SockaddrSize) + 4, 4));

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            NativeMemory.Free(_memory);
        }
    }
}
