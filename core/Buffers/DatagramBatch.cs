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
/// With <see cref="Segmentation"/> (UDP GSO, issue 16) a run of queued datagrams to one destination, all of one
/// size but the last (a segmented super-packet's frames), leaves as one message with a <c>UDP_SEGMENT</c> control
/// message: the kernel builds the datagrams from one large buffer, one trip through the stack instead of one each.
/// A receiving socket with <c>UDP_GRO</c> gets such runs back as one buffer, with the segment size in a control
/// message (<see cref="ReceivedSegmentSize"/>).
/// </summary>
internal sealed unsafe class DatagramBatch : IDisposable
{
    private const int SockaddrSize = 16; // struct sockaddr_in

    /// <summary>Datagrams per UDP_SEGMENT message: the kernel's UDP_MAX_SEGMENTS was 64 before Linux 6.9.</summary>
    public const int MaxSegments = 64;

    /// <summary>Largest UDP payload of one message (65535 minus the IPv4 and UDP headers): the GSO packet is one IP packet.</summary>
    public const int MaxSegmentedBytes = 65535 - 20 - 8;

    private readonly byte* _memory;
    private readonly byte* _control;
    private readonly CoreInterop.MMsgHdr* _messages;
    private readonly int[] _messageFirst;
    private readonly int[] _messageCount;
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
        nuint total = (nuint)capacity * (nuint)(slotSize + SockaddrSize + sizeof(CoreInterop.IoVec) + (2 * sizeof(CoreInterop.MMsgHdr)) + CoreInterop.CmsgSpace8);
        // SAFETY: one zeroed native block carved into six arrays of `capacity` entries; freed once in Dispose.
        _memory = (byte*)NativeMemory.AllocZeroed(total);
        _headers = (CoreInterop.MMsgHdr*)_memory;
        _messages = _headers + capacity;
        _iov = (CoreInterop.IoVec*)(_messages + capacity);
        _control = (byte*)(_iov + capacity);
        _names = _control + (capacity * CoreInterop.CmsgSpace8);
        _buffers = _names + (capacity * SockaddrSize);
        _messageFirst = new int[capacity];
        _messageCount = new int[capacity];
    }

    public int Capacity { get; }

    public int SlotSize { get; }

    /// <summary>Send runs of equal-sized datagrams as UDP_SEGMENT messages (off until the owner turns it on).</summary>
    public bool Segmentation { get; set; }

    /// <summary>Set (and <see cref="Segmentation"/> cleared) when the kernel refused a segmented message; its datagrams were then sent one by one.</summary>
    public bool SegmentationRefused { get; private set; }

    /// <summary>Messages the last <see cref="Flush"/> used (fewer than its datagrams when runs were joined).</summary>
    public int LastMessages { get; private set; }

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
    /// backpressure we want), runs joined into UDP_SEGMENT messages when <see cref="Segmentation"/> is on.
    /// Returns how many datagrams were not sent (errors); resets the batch.
    /// </summary>
    public int Flush(SafeSocketHandle socket)
    {
        int failed = 0;
        int messages = BuildMessages(0);
        LastMessages = messages;
        int sent = 0;
        while (sent < messages)
        {
            // SAFETY: messages[sent..messages) were filled by BuildMessages and point into this batch's native memory.
            int n = CoreInterop.SendMmsg(socket, _messages + sent, (uint)(messages - sent), 0);
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
            if (_messageCount[sent] > 1 && errno is Errno.EIO or Errno.EINVAL or Errno.EMSGSIZE)
            {
                // The kernel will not segment here (no checksum offload on the way out, an old kernel, a frame
                // larger than the path's MTU): from now on one datagram per message, starting with this run.
                Segmentation = false;
                SegmentationRefused = true;
                int rebuilt = BuildMessages(_messageFirst[sent]);
                LastMessages += rebuilt;
                messages = rebuilt;
                sent = 0;
                continue;
            }
            // The first message failed (e.g. EHOSTUNREACH after an ICMP error): skip it, send the rest.
            failed += _messageCount[sent];
            sent++;
        }
        Count = 0;
        return failed;
    }

    /// <summary>
    /// Lays out the messages for datagrams [<paramref name="first"/>, Count): with <see cref="Segmentation"/>, a
    /// run of datagrams to one destination, each as long as the run's first but the last, becomes one message whose
    /// iovecs are the run's slots (contiguous in _iov) and whose control message gives the segment size.
    /// </summary>
    private int BuildMessages(int first)
    {
        int messages = 0;
        int i = first;
        while (i < Count)
        {
            int size = (int)_iov[i].Length;
            int run = 1;
            int bytes = size;
            if (Segmentation && size > 0)
            {
                while (i + run < Count && run < MaxSegments && (int)_iov[i + run - 1].Length == size)
                {
                    int next = (int)_iov[i + run].Length;
                    if (next == 0 || next > size || bytes + next > MaxSegmentedBytes || !SameName(i, i + run))
                    {
                        break;
                    }
                    bytes += next;
                    run++;
                }
            }
            // SAFETY: messages < Capacity (each message covers at least one of Count ≤ Capacity datagrams); the
            // header at i was filled by Queue; the control slot of datagram i is CmsgSpace8 bytes and used by this message only.
            CoreInterop.MsgHdr header = _headers[i].Header;
            header.IovLength = (nuint)run;
            header.Control = null;
            header.ControlLength = 0;
            if (run > 1)
            {
                byte* control = _control + (i * CoreInterop.CmsgSpace8);
                *(CoreInterop.CmsgHdr*)control = new CoreInterop.CmsgHdr
                {
                    Length = (nuint)(sizeof(CoreInterop.CmsgHdr) + sizeof(ushort)),
                    Level = CoreInterop.SOL_UDP,
                    Type = CoreInterop.UDP_SEGMENT,
                };
                *(ushort*)(control + sizeof(CoreInterop.CmsgHdr)) = (ushort)size;
                header.Control = control;
                header.ControlLength = CoreInterop.CmsgSpace8;
            }
            _messages[messages] = new CoreInterop.MMsgHdr { Header = header };
            _messageFirst[messages] = i;
            _messageCount[messages] = run;
            messages++;
            i += run;
        }
        return messages;
    }

    private bool SameName(int a, int b) =>
        _headers[a].Header.NameLength == _headers[b].Header.NameLength
        && new ReadOnlySpan<byte>(_names + (a * SockaddrSize), SockaddrSize).SequenceEqual(new ReadOnlySpan<byte>(_names + (b * SockaddrSize), SockaddrSize));

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
            _headers[i].Header = new CoreInterop.MsgHdr
            {
                Name = _names + (i * SockaddrSize),
                NameLength = SockaddrSize,
                Iov = _iov + i,
                IovLength = 1,
                Control = _control + (i * CoreInterop.CmsgSpace8),
                ControlLength = CoreInterop.CmsgSpace8,
            };
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

    /// <summary>True when slot i's datagram, or its control data, did not fit.</summary>
    public bool ReceivedTruncated(int i) => (_headers[i].Header.Flags & (CoreInterop.MSG_TRUNC | CoreInterop.MSG_CTRUNC)) != 0;

    /// <summary>
    /// The segment size of slot i when the kernel coalesced datagrams into it (a socket with UDP_GRO: every
    /// <c>size</c> bytes a datagram begins, the last may be shorter); 0 for a single datagram.
    /// </summary>
    public int ReceivedSegmentSize(int i)
    {
        // SAFETY: the kernel wrote at most ControlLength (≤ CmsgSpace8) bytes into slot i's control area; every
        // read below is bounds-checked against that length.
        CoreInterop.MsgHdr header = _headers[i].Header;
        int length = (int)Math.Min(header.ControlLength, (nuint)CoreInterop.CmsgSpace8);
        byte* control = _control + (i * CoreInterop.CmsgSpace8);
        int offset = 0;
        while (offset + sizeof(CoreInterop.CmsgHdr) <= length)
        {
            CoreInterop.CmsgHdr cmsg = *(CoreInterop.CmsgHdr*)(control + offset);
            if (cmsg.Length < (nuint)sizeof(CoreInterop.CmsgHdr) || (nuint)offset + cmsg.Length > (nuint)length)
            {
                return 0;
            }
            if (cmsg.Level == CoreInterop.SOL_UDP && cmsg.Type == CoreInterop.UDP_GRO && cmsg.Length >= (nuint)(sizeof(CoreInterop.CmsgHdr) + sizeof(int)))
            {
                return *(int*)(control + offset + sizeof(CoreInterop.CmsgHdr));
            }
            offset += (int)((cmsg.Length + 7) & ~(nuint)7);
        }
        return 0;
    }

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
