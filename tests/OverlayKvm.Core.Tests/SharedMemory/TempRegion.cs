using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.Core.Tests.SharedMemory;

/// <summary>A fresh engine region in /dev/shm under a unique name, deleted on dispose (even when the test fails).</summary>
internal sealed class TempRegion : IDisposable
{
    public TempRegion(long size = 1 << 20, int slots = 2)
    {
        Path = $"/dev/shm/okvm-test-{Guid.NewGuid():N}";
        var mapping = SharedMemoryMapping.CreateOrOpen(Path, size, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null);
        Region = EngineRegion.Initialize(mapping, "test", slots, generation: 7);
    }

    public string Path { get; }

    public EngineRegion Region { get; }

    /// <summary>A second, independent mapping of the same file (as another process would have).</summary>
    public EngineRegion AttachAgain()
    {
        var mapping = SharedMemoryMapping.Open(Path);
        Assert.Equal(RegionHeaderStatus.Valid, EngineRegion.TryAttach(mapping, out EngineRegion? other));
        return other!;
    }

    public Span<byte> Bytes(long offset, int length) => Region.Mapping.GetSpan(offset, length);

    public void Dispose()
    {
        try
        {
            Region.Dispose();
        }
        finally
        {
            File.Delete(Path);
        }
    }
}
