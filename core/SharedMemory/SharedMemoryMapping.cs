using OverlayKvm.Core.Interop;
using Native = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// A shared-memory region mapped read-write and MAP_SHARED from a path: <c>/dev/shm/NAME</c> on the host, the
/// ivshmem device's <c>/sys/bus/pci/devices/BDF/resource2</c> in a guest (sysfs resource files must be mapped
/// at offset 0 with their exact size, which is why this uses mmap directly rather than MemoryMappedFile, whose
/// FileStream path adds locking and size handling that PCI resource files do not support).
/// </summary>
public sealed unsafe partial class SharedMemoryMapping : IDisposable
{
    private readonly SafeMappedMemoryHandle _handle;

    private SharedMemoryMapping(string path, SafeMappedMemoryHandle handle)
    {
        Path = path;
        _handle = handle;
    }

    public string Path { get; }

    public long Length => _handle.Length;

    internal SafeMappedMemoryHandle Handle => _handle;

    /// <summary>
    /// Creates the region file if missing (exactly <paramref name="size"/> bytes, <paramref name="mode"/>, optional
    /// owner), or opens it if it exists with that size. An existing file of another size is refused: libvirt
    /// refuses it too ("backing store size does not match").
    /// </summary>
    public static SharedMemoryMapping CreateOrOpen(string path, long size, UnixFileMode mode, (uint Uid, uint Gid)? owner)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 4096L, nameof(size));
        // O_NOFOLLOW: /dev/shm is world-writable, a symlink planted there must not redirect us.
        using SafeFdHandle fd = SafeFdHandle.Open(path, Native.O_RDWR | Native.O_CREAT | Native.O_NOFOLLOW, (int)mode);

        long existing = SizeOf(fd, path);
        if (existing == 0)
        {
            IoCheck.Check(Native.Ftruncate(fd, size), $"ftruncate {path}");
        }
        else if (existing != size)
        {
            throw new InvalidDataException(
                $"shared-memory region '{path}': existing size {existing} bytes differs from the configured {size} bytes");
        }

        // The mode passed to open is filtered by umask and ignored for an existing file: set it explicitly.
        SetModeAndOwner(fd, path, mode, owner);

        return Map(path, fd, size);
    }

    /// <summary>Maps an existing region. <paramref name="expectedSize"/> null means "the file's size".</summary>
    public static SharedMemoryMapping Open(string path, long? expectedSize = null)
    {
        using SafeFdHandle fd = SafeFdHandle.Open(path, Native.O_RDWR | Native.O_NOFOLLOW);

        long size = SizeOf(fd, path);
        if (expectedSize is { } expected && expected != size)
        {
            throw new InvalidDataException($"shared-memory region '{path}': size {size} bytes, expected {expected}");
        }

        if (size < 4096)
        {
            throw new InvalidDataException($"shared-memory region '{path}': size {size} bytes is too small to hold a region");
        }

        return Map(path, fd, size);
    }

    /// <summary>Base address of the mapping; valid until the mapping and every lease on it are released.</summary>
    internal byte* Pointer => (byte*)_handle.DangerousGetHandle();

    /// <summary>A bounds-checked view of part of the region.</summary>
    public Span<byte> GetSpan(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (offset < 0 || length < 0 || offset + length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"view [{offset}, +{length}) is outside region '{Path}' of {Length} bytes");
        }

        // SAFETY: the range [offset, offset+length) was checked against the mapped length just above and the
        // handle is open; the caller must not keep the span beyond the mapping's lifetime (spans cannot escape to the heap).
        return new Span<byte>(Pointer + offset, length);
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>
    /// The file's size from fstat (statx). Not lseek(SEEK_END): on a guest's sysfs PCI resource file (the ivshmem BAR2,
    /// Debian 6.1 kernel) lseek answers 0 while fstat gives the BAR's size (seen in a TCG guest: "size 0 bytes,
    /// expected 16777216"), so no agent could map its engine region.
    /// </summary>
    private static long SizeOf(SafeFdHandle fd, string path) => (long)Stat(fd, path).Size;

    private static Native.Statx Stat(SafeFdHandle fd, string path)
    {
        IoCheck.Check(Native.FStatx(fd, "", Native.AT_EMPTY_PATH, Native.STATX_BASIC_STATS, out Native.Statx st),
            $"fstat {path}");
        return st;
    }

    /// <summary>The mode passed to open is filtered by umask and ignored for an existing file: set it explicitly.
    /// QEMU (running as libvirt-qemu) must be able to open a region the daemon pre-created: hence the owner.</summary>
    private static void SetModeAndOwner(SafeFdHandle fd, string path, UnixFileMode mode, (uint Uid, uint Gid)? owner)
    {
        IoCheck.Check(Native.Fchmod(fd, (uint)mode), $"fchmod {path}");
        if (owner is { } o)
        {
            IoCheck.Check(Native.Fchown(fd, o.Uid, o.Gid), $"fchown {path}");
        }
    }

    private static SharedMemoryMapping Map(string path, SafeFdHandle fd, long size)
    {
        nint address = Native.Mmap(0, (nuint)size, Native.PROT_READ | Native.PROT_WRITE,
            Native.MAP_SHARED, fd, 0);
        if (address == Native.MAP_FAILED)
        {
            IoCheck.Throw($"mmap {path}", IoCheck.LastErrno);
        }

        // The mapping stays valid after the fd is closed (mmap(2)); only the mapping is kept.
        return new SharedMemoryMapping(path, new SafeMappedMemoryHandle(address, size));
    }
}
