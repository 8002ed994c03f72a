using System.Runtime.InteropServices;
using System.Text;
using OverlayKvm.Core.Interop;
using OverlayKvm.Core.Wire;
using CoreInterop = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.GuestAgent.Tun;

/// <summary>
/// A layer-3 TUN device (<c>/dev/net/tun</c>, <c>IFF_TUN | IFF_NO_PI</c>: each read/write is one bare IP packet).
/// Devices are made persistent so that an agent restart does not tear down the apps' addresses: the device and
/// its addresses, routes and rules stay while the agent is away, and the restarted agent attaches to it again
/// by name (R0.8 reconciliation). <see cref="Destroy"/> clears persistence, so closing removes the device.
/// With offloads (<c>IFF_VNET_HDR</c> + <c>TUNSETOFFLOAD</c>, issue 16) every read and write carries a
/// <see cref="VirtioNetHeader"/> in front of the packet, and the kernel hands over TCP (and UDP, where it has USO)
/// super-packets of up to 64 KiB with partial checksums instead of one MTU-sized packet per syscall.
/// </summary>
internal sealed class TunDevice : IDisposable
{
    private const nuint TUNSETIFF = 0x400454ca;
    private const nuint TUNSETPERSIST = 0x400454cb;
    private const short IFF_TUN = 0x0001;
    private const short IFF_NO_PI = 0x1000;
    private const short IFF_VNET_HDR = 0x4000;
    private const nuint TUNSETOFFLOAD = 0x400454d0;
    private const uint TUN_F_CSUM = 0x01;
    private const uint TUN_F_TSO4 = 0x02;
    private const uint TUN_F_TSO6 = 0x04;
    private const uint TUN_F_USO4 = 0x20;
    private const uint TUN_F_USO6 = 0x40;

    /// <summary>Checksum offload with TCP segmentation (both families, as the issue asks; IPv6 packets are then dropped as malformed, the overlay is IPv4).</summary>
    public const uint TsoOffloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

    /// <summary>The same plus UDP segmentation (Linux 6.2+).</summary>
    public const uint UsoOffloads = TsoOffloads | TUN_F_USO4 | TUN_F_USO6;

    /// <summary>The header written in front of a plain packet: no GSO, checksums complete.</summary>
    private static readonly byte[] PlainHeader = new byte[VirtioNetHeader.Size];
    private const int IFNAMSIZ = 16;

    private TunDevice(string name, SafeFdHandle fd, uint offloads)
    {
        Name = name;
        Handle = fd;
        Offloads = offloads;
    }

    /// <summary>The TUN_F_* flags the kernel accepted; 0: no virtio-net header on this descriptor.</summary>
    public uint Offloads { get; }

    public bool HasVnetHeader => Offloads != 0;

    /// <summary>The kernel takes UDP super-packets (GSO_UDP_L4) written to this descriptor.</summary>
    public bool HasUdpSegmentation => (Offloads & TUN_F_USO4) != 0;

    public string Name { get; }

    public SafeFdHandle Handle { get; }

    /// <summary>struct ifreq (linux/if.h): 16-byte name, then the union (flags is a short at offset 16); 40 bytes.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 40)]
    private unsafe struct IfReq
    {
        [FieldOffset(0)]
        public fixed byte Name[IFNAMSIZ];

        [FieldOffset(16)]
        public short Flags;
    }

    /// <summary>Creates the device, or attaches to an existing persistent one of that name.</summary>
    /// <param name="offloads">Open with a virtio-net header and enable checksum/TSO (and USO when the kernel accepts it).</param>
    public static unsafe TunDevice OpenOrCreate(string name, bool persist, bool offloads = false)
    {
        byte[] nameBytes = Encoding.ASCII.GetBytes(name);
        if (nameBytes.Length is 0 or >= IFNAMSIZ)
        {
            throw new ArgumentException($"TUN device name '{name}' must be 1..{IFNAMSIZ - 1} ASCII characters", nameof(name));
        }
        // Non-blocking: the worker drains every ready packet, then polls (one poll per burst, not per packet).
        SafeFdHandle fd = SafeFdHandle.Open("/dev/net/tun", CoreInterop.O_RDWR | CoreInterop.O_NONBLOCK);
        try
        {
            var req = default(IfReq);
            // SAFETY: Name is a 16-byte inline buffer; nameBytes is at most 15 bytes, the rest stays zero (NUL-terminated).
            for (int i = 0; i < nameBytes.Length; i++)
            {
                req.Name[i] = nameBytes[i];
            }
            req.Flags = (short)(IFF_TUN | IFF_NO_PI | (offloads ? IFF_VNET_HDR : 0));
            // SAFETY: req is a stack local of the kernel's struct ifreq size (40 bytes) for the whole call.
            IoCheck.Check(CoreInterop.Ioctl(fd, TUNSETIFF, &req), $"ioctl TUNSETIFF {name}");
            uint accepted = 0;
            if (offloads)
            {
                // USO first; a kernel before 6.2 refuses its bits with EINVAL, then TSO alone.
                accepted = CoreInterop.Ioctl(fd, TUNSETOFFLOAD, (nint)UsoOffloads) == 0 ? UsoOffloads : TsoOffloads;
                if (accepted == TsoOffloads)
                {
                    IoCheck.Check(CoreInterop.Ioctl(fd, TUNSETOFFLOAD, (nint)TsoOffloads), $"ioctl TUNSETOFFLOAD {name}");
                }
            }
            else
            {
                // A persistent device keeps the features an earlier (offloading) agent set: clear them, or the
                // kernel would queue super-packets this descriptor cannot describe.
                IoCheck.Check(CoreInterop.Ioctl(fd, TUNSETOFFLOAD, (nint)0), $"ioctl TUNSETOFFLOAD 0 {name}");
            }
            if (persist)
            {
                IoCheck.Check(CoreInterop.Ioctl(fd, TUNSETPERSIST, (nint)1), $"ioctl TUNSETPERSIST {name}");
            }
            return new TunDevice(name, fd, accepted);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    public static bool Exists(string name) => Directory.Exists($"/sys/class/net/{name}");

    /// <summary>Reads one packet; returns its length, 0 if nothing was ready, -1 with errno on failure. Never throws.</summary>
    public int Read(Span<byte> buffer, out Errno errno)
    {
        int n = FdIo.Read(Handle, buffer, out errno);
        if (n < 0 && errno == Errno.EAGAIN)
        {
            return 0;
        }
        return n;
    }

    /// <summary>Writes one plain IP packet (checksums complete); with a virtio-net header, a GSO_NONE one goes in front.</summary>
    public int Write(ReadOnlySpan<byte> packet, out Errno errno)
    {
        if (!HasVnetHeader)
        {
            return FdIo.Write(Handle, packet, out errno);
        }

        int n = FdIo.Write(Handle, PlainHeader, packet, out errno);
        return n < 0 ? n : n - VirtioNetHeader.Size;
    }

    /// <summary>Writes a virtio-net header and its packet, contiguous (only on a device opened with offloads).</summary>
    public int WriteWithHeader(ReadOnlySpan<byte> headerAndPacket, out Errno errno) => FdIo.Write(Handle, headerAndPacket, out errno);

    /// <summary>Clears persistence so the kernel removes the device when this descriptor closes, then closes it.</summary>
    public void Destroy()
    {
        if (!Handle.IsClosed)
        {
            IoCheck.Check(CoreInterop.Ioctl(Handle, TUNSETPERSIST, (nint)0), $"ioctl TUNSETPERSIST 0 {Name}");
        }
        Handle.Dispose();
    }

    public void Dispose() => Handle.Dispose();
}
