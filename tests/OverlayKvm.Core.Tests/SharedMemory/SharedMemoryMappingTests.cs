using OverlayKvm.Core.SharedMemory;
using OverlayKvm.Core.Interop;

namespace OverlayKvm.Core.Tests.SharedMemory;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SharedMemoryMappingTests : IDisposable
{
    private readonly string _path = $"/dev/shm/okvm-map-{Guid.NewGuid():N}";

    [Fact]
    public void CreateOrOpen_NewFile_HasExactSizeAndMode0600()
    {
        using var mapping = SharedMemoryMapping.CreateOrOpen(_path, 64 * 1024, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null);

        Assert.Equal(64 * 1024, new FileInfo(_path).Length);
        Assert.Equal(64 * 1024, mapping.Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_path));
    }

    [Fact]
    public void TwoMappings_OfOneFile_SeeEachOthersWrites()
    {
        using var a = SharedMemoryMapping.CreateOrOpen(_path, 8192, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null);
        using var b = SharedMemoryMapping.Open(_path, expectedSize: 8192);

        a.GetSpan(5000, 3).Fill(0xAB);

        Assert.Equal([0xAB, 0xAB, 0xAB], b.GetSpan(5000, 3).ToArray());
    }

    [Fact]
    public void CreateOrOpen_ExistingFileOfOtherSize_IsRefusedNamingBothSizes()
    {
        File.WriteAllBytes(_path, new byte[5000]);

        var e = Assert.Throws<InvalidDataException>(() =>
            SharedMemoryMapping.CreateOrOpen(_path, 8192, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null));
        Assert.Contains("5000", e.Message);
        Assert.Contains("8192", e.Message);
    }

    [Fact]
    public void Open_MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => SharedMemoryMapping.Open(_path));
    }

    [Fact]
    public void Open_Symlink_IsRefused()
    {
        string target = _path + "-target";
        try
        {
            File.WriteAllBytes(target, new byte[8192]);
            File.CreateSymbolicLink(_path, target);

            var e = Assert.Throws<ErrnoException>(() => SharedMemoryMapping.Open(_path));
            Assert.Equal($"open {_path}", e.Operation);
            Assert.Equal(Errno.ELOOP, e.Errno); // ELOOP: O_NOFOLLOW refuses symlinks in world-writable /dev/shm
        }
        finally
        {
            File.Delete(target);
        }
    }

    [Fact]
    public void GetSpan_OutsideTheRegion_Throws()
    {
        using var mapping = SharedMemoryMapping.CreateOrOpen(_path, 8192, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null);

        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.GetSpan(8190, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.GetSpan(-1, 1));
    }

    [Fact]
    public void GetSpan_AfterDispose_ThrowsObjectDisposed()
    {
        var mapping = SharedMemoryMapping.CreateOrOpen(_path, 8192, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null);
        mapping.Dispose();

        Assert.Throws<ObjectDisposedException>(() => mapping.GetSpan(0, 1));
    }

    public void Dispose() => File.Delete(_path);
}
