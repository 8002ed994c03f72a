using OverlayKvm.Core.Interop;
using Native = OverlayKvm.Core.Interop.Interop;

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
                SafeFdHandle? fd = SafeFdHandle.TryOpen(path, Native.O_RDWR | Native.O_CREAT | Native.O_EXCL | Native.O_NOFOLLOW,
                    (int)mode, out Errno errno);
                if (fd is not null)
                {
                    using (fd)
                    {
                        return Lay(path, fd, size, mode, owner);
                    }
                }

                if (errno != Errno.EEXIST)
                {
                    throw IoCheck.Create($"open(O_EXCL) {path}", errno);
                }

                string? mismatch = InspectExisting(path, size, mode, owner, out SafeFdHandle? existing);
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

    private static SharedMemoryMapping Lay(string path, SafeFdHandle fd, long size, UnixFileMode mode, (uint Uid, uint Gid)? owner)
    {
        IoCheck.Check(Native.Ftruncate(fd, size), $"ftruncate {path}");
        SetModeAndOwner(fd, path, mode, owner);
        return Map(path, fd, size);
    }

    /// <summary>Null when the file at <paramref name="path"/> is exactly ours (and <paramref name="fd"/> is open on it), else why not.</summary>
    private static string? InspectExisting(string path, long size, UnixFileMode mode, (uint Uid, uint Gid)? owner, out SafeFdHandle? fd)
    {
        // O_NOFOLLOW: a symlink planted at the path fails with ELOOP and is replaced like any foreign file.
        fd = SafeFdHandle.TryOpen(path, Native.O_RDWR | Native.O_NOFOLLOW, 0, out Errno errno);
        if (fd is null)
        {
            return $"cannot open the existing file ({errno})";
        }

        Native.Statx st = Stat(fd, path);
        uint expectedUid = owner?.Uid ?? Native.Geteuid();
        if ((st.Mode & Native.S_IFMT) != Native.S_IFREG)
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
