using System.Runtime.InteropServices;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// The host side of an ivshmem-plain region: the file QEMU maps, /dev/shm/NAME. Pre-creating it (as the
/// daemon will, to own the layout) must follow QEMU's rules: exactly the configured size (else "backing store
/// size ... does not match") and owned by the user QEMU runs as with mode 0600 (else "can't open backing
/// store ... Permission denied"). libvirt leaves the file behind when the domain stops, so tests delete it.
/// </summary>
internal static partial class ShmBackingFile
{
    public const string QemuUser = "libvirt-qemu";

    public static string PathOf(string shmemName) => Path.Combine("/dev/shm", shmemName);

    public static void Create(string shmemName, long size, ReadOnlySpan<byte> content, long contentOffset)
    {
        var (uid, gid) = LookUpUser(QemuUser);
        CreateAs(shmemName, size, content, contentOffset, uid, gid, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>Creates the file with any owner and mode (tests of QEMU's refusals use the wrong ones).</summary>
    public static void CreateAs(string shmemName, long size, ReadOnlySpan<byte> content, long contentOffset, uint uid, uint gid, UnixFileMode mode)
    {
        var path = PathOf(shmemName);
        using (var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            UnixCreateMode = mode,
        }))
        {
            file.SetLength(size);
            file.Position = contentOffset;
            file.Write(content);
        }
        File.SetUnixFileMode(path, mode); // the create mode is filtered by the umask
        if (Chown(path, uid, gid) != 0)
            throw new IOException($"chown {path} to {uid}:{gid} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public static byte[] Read(string shmemName, long offset, int count)
    {
        using var file = new FileStream(PathOf(shmemName), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var buffer = new byte[count];
        file.Position = offset;
        file.ReadExactly(buffer);
        return buffer;
    }

    public static void Write(string shmemName, long offset, ReadOnlySpan<byte> bytes)
    {
        using var file = new FileStream(PathOf(shmemName), FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        file.Position = offset;
        file.Write(bytes);
    }

    public static void Delete(string shmemName) => File.Delete(PathOf(shmemName));

    /// <summary>uid and primary gid from /etc/passwd (the test runs on the libvirt host itself).</summary>
    public static (uint Uid, uint Gid) LookUpUser(string user)
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var fields = line.Split(':');
            if (fields.Length >= 4 && fields[0] == user && uint.TryParse(fields[2], out var uid) && uint.TryParse(fields[3], out var gid))
                return (uid, gid);
        }
        throw new InvalidOperationException($"user {user} is not in /etc/passwd: is libvirt-daemon-system installed?");
    }

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chown(string path, uint owner, uint group);
}
