using Microsoft.Win32.SafeHandles;
using OverlayKvm.Core.SharedMemory.Interop;

namespace OverlayKvm.Core.SharedMemory;

/// <summary>What <see cref="SharedMemoryMapping.CreateExclusive"/> found at the path.</summary>
public enum RegionFileOrigin
{
    /// <summary>No file was there: created now with O_EXCL.</summary>
    Created,

    /// <summary>A file exactly as this owner makes it (regular, owner, mode, size): a previous daemon's region.</summary>
    Reopened,

    /// <summary>A file of another owner, mode, size or type was there: removed and created afresh, never adopted.</summary>
    Replaced,
}

public sealed unsafe partial class SharedMemoryMapping
{
    /// <summary>
    /// Creates the region file with O_EXCL (exactly <paramref name="size"/> bytes, <paramref name="mode"/>, optional
    /// owner). A file already at the path is reopened only when fstat shows it is what this call would have made: a
    /// regular file of the expected owner (the given uid, else our euid), mode and size — the region of a previous
    /// daemon, which keeps serving across a restart. Anything else (planted by another user, resized, another mode)
    /// is unlinked and created afresh, never adopted (issue 14 item 7): its content and its sharers are unknown.
    /// </summary>
    /// <exception cref="SharedMemoryRegionException">The file could not be created, replaced or mapped.</exception>
    public static SharedMemoryMapping CreateExclusive(string path, long size, UnixFileMode mode, (uint Uid, uint Gid)? owner,
        out RegionFileOrigin origin, out string? replacedReason)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 4096L, nameof(size));
        replacedReason = null;
        origin = RegionFileOrigin.Created;
        try
        {
            // Two rounds at most: a file planted again between our unlink and our create is refused, not chased.
            for (int round = 0; round < 2; round++)
            {
                SafeFileHandle fd = OpenExclusive(path, mode);
                if (!fd.IsInvalid)
                {
                    using (fd)
                    {
                        return Lay(path, fd, size, mode, owner);
                    }
                }

                if (System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != SharedMemoryInterop.EEXIST)
                {
                    fd.Dispose();
                    throw SharedMemoryErrors.FromLastError("open(O_EXCL)", path);
                }

                fd.Dispose();
                string? mismatch = InspectExisting(path, size, mode, owner, out SafeFileHandle? existing);
                if (mismatch is null)
                {
                    using (existing!)
                    {
                        origin = RegionFileOrigin.Reopened;
                        return Map(path, existing!, size);
                    }
                }

                existing?.Dispose();
                replacedReason = mismatch;
                origin = RegionFileOrigin.Replaced;
                File.Delete(path);
            }

            throw new SharedMemoryRegionException(path, "a file reappeared at the path after it was removed; refusing to adopt it");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not SharedMemoryRegionException)
        {
            throw new SharedMemoryRegionException(path, e.Message, e);
        }
    }

    private static SafeFileHandle OpenExclusive(string path, UnixFileMode mode) =>
        SharedMemoryInterop.Open(path,
            SharedMemoryInterop.O_RDWR | SharedMemoryInterop.O_CREAT | SharedMemoryInterop.O_EXCL | SharedMemoryInterop.O_CLOEXEC | SharedMemoryInterop.O_NOFOLLOW,
            (int)mode);

    private static SharedMemoryMapping Lay(string path, SafeFileHandle fd, long size, UnixFileMode mode, (uint Uid, uint Gid)? owner)
    {
        if (SharedMemoryInterop.Ftruncate(fd, size) != 0)
        {
            throw SharedMemoryErrors.FromLastError("ftruncate", path);
        }

        // The mode passed to open is filtered by umask: set it explicitly.
        if (SharedMemoryInterop.Fchmod(fd, (uint)mode) != 0)
        {
            throw SharedMemoryErrors.FromLastError("fchmod", path);
        }

        if (owner is { } o && SharedMemoryInterop.Fchown(fd, o.Uid, o.Gid) != 0)
        {
            throw SharedMemoryErrors.FromLastError("fchown", path);
        }

        return Map(path, fd, size);
    }

    /// <summary>Null when the file at <paramref name="path"/> is exactly ours (and <paramref name="fd"/> is open on it), else why not.</summary>
    private static string? InspectExisting(string path, long size, UnixFileMode mode, (uint Uid, uint Gid)? owner, out SafeFileHandle? fd)
    {
        // O_NOFOLLOW: a symlink planted at the path fails with ELOOP and is replaced like any foreign file.
        fd = SharedMemoryInterop.Open(path, SharedMemoryInterop.O_RDWR | SharedMemoryInterop.O_CLOEXEC | SharedMemoryInterop.O_NOFOLLOW, 0);
        if (fd.IsInvalid)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            fd.Dispose();
            fd = null;
            return $"cannot open the existing file (errno {errno})";
        }

        if (SharedMemoryInterop.FStatx(fd, "", SharedMemoryInterop.AT_EMPTY_PATH, SharedMemoryInterop.STATX_BASIC_STATS, out SharedMemoryInterop.Statx st) != 0)
        {
            throw SharedMemoryErrors.FromLastError("statx", path);
        }

        uint expectedUid = owner?.Uid ?? SharedMemoryInterop.Geteuid();
        if ((st.Mode & SharedMemoryInterop.S_IFMT) != SharedMemoryInterop.S_IFREG)
        {
            return "not a regular file";
        }

        if (st.Uid != expectedUid)
        {
            return $"owned by uid {st.Uid}, not {expectedUid}";
        }

        if ((st.Mode & 0xFFF) != (uint)mode)
        {
            return $"mode {Convert.ToString(st.Mode & 0xFFF, 8)}, not {Convert.ToString((int)mode, 8)}";
        }

        if ((long)st.Size != size)
        {
            return $"size {st.Size} bytes, not {size}";
        }

        return null;
    }
}
