using System.Runtime.InteropServices;
using System.Text;
using OverlayKvm.Core.Interop;
using CoreInterop = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.GuestAgent.Tun;

/// <summary>
/// A layer-3 TUN device (<c>/dev/net/tun</c>, <c>IFF_TUN | IFF_NO_PI</c>: each read/write is one bare IP packet).
/// Devices are made persistent so that an agent restart does not tear down the apps' addresses: the device and
/// its addresses, routes and rules stay while the agent is away, and the restarted agent attaches to it again
/// by name (R0.8 reconciliation). <see cref="Destroy"/> clears persistence, so closing removes the device.
/// </summary>
internal sealed class TunDevice : IDisposable
{
    private const nuint TUNSETIFF = 0x400454ca;
    private const nuint TUNSETPERSIST = 0x400454cb;
    private const short IFF_TUN = 0x0001;
    private const short IFF_NO_PI = 0x1000;
    private const int IFNAMSIZ = 16;

    private TunDevice(string name, SafeFdHandle fd)
    {
        Name = name;
        Handle = fd;
    }

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
    public static unsafe TunDevice OpenOrCreate(string name, bool persist)
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
            req.Flags = IFF_TUN | IFF_NO_PI;
            // SAFETY: req is a stack local of the kernel's struct ifreq size (40 bytes) for the whole call.
            IoCheck.Check(CoreInterop.Ioctl(fd, TUNSETIFF, &req), $"ioctl TUNSETIFF {name}");
            if (persist)
            {
                IoCheck.Check(CoreInterop.Ioctl(fd, TUNSETPERSIST, (nint)1), $"ioctl TUNSETPERSIST {name}");
            }
            return new TunDevice(name, fd);
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

    public int Write(ReadOnlySpan<byte> packet, out Errno errno) => FdIo.Write(Handle, packet, out errno);

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
