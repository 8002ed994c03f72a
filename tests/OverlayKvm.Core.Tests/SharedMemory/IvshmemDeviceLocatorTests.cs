using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.Core.Tests.SharedMemory;

/// <summary>The guest-side discovery against a fake sysfs tree (regular files stand in for BAR2, mapped the same way).</summary>
public sealed class IvshmemDeviceLocatorTests : IDisposable
{
    private readonly string _root = Directory.CreateDirectory($"/dev/shm/okvm-sysfs-{Guid.NewGuid():N}").FullName;

    [Fact]
    public void Find_ListsOnlyIvshmemFunctions_WithBar2Size_AndEnablesThem()
    {
        AddDevice("0000:00:02.0", "0x1af4", "0x1000", 1 << 20, group: null); // virtio-net: not ivshmem
        AddDevice("0000:00:05.0", "0x1af4", "0x1110", 1 << 20, group: "web");

        IvshmemDevice device = Assert.Single(IvshmemDeviceLocator.Find(_root));

        Assert.Equal("0000:00:05.0", device.PciAddress);
        Assert.Equal(1 << 20, device.Size);
        Assert.Equal("1", File.ReadAllText(Path.Combine(_root, "0000:00:05.0", "enable")));
    }

    [Fact]
    public void TryAttachGroup_PicksTheDeviceWhoseRegionNamesTheGroup()
    {
        AddDevice("0000:00:05.0", "0x1af4", "0x1110", 1 << 20, group: "db");
        AddDevice("0000:00:06.0", "0x1af4", "0x1110", 1 << 20, group: "web");

        using EngineRegion? web = IvshmemDeviceLocator.TryAttachGroup("web", _root);

        Assert.NotNull(web);
        Assert.Equal("web", web.Group);
        Assert.EndsWith("0000:00:06.0/resource2", web.Mapping.Path);
        Assert.Null(IvshmemDeviceLocator.TryAttachGroup("other", _root));
    }

    [Fact]
    public void Find_MissingRoot_IsEmpty()
    {
        Assert.Empty(IvshmemDeviceLocator.Find(Path.Combine(_root, "missing")));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void AddDevice(string bdf, string vendor, string device, long size, string? group)
    {
        string dir = Directory.CreateDirectory(Path.Combine(_root, bdf)).FullName;
        File.WriteAllText(Path.Combine(dir, "vendor"), vendor + "\n");
        File.WriteAllText(Path.Combine(dir, "device"), device + "\n");
        File.WriteAllText(Path.Combine(dir, "enable"), "0\n");
        long start = 0xfe000000;
        File.WriteAllLines(Path.Combine(dir, "resource"),
        [
            "0x00000000febd1000 0x00000000febd10ff 0x0000000000040200",
            "0x0000000000000000 0x0000000000000000 0x0000000000000000",
            $"0x{start:x16} 0x{start + size - 1:x16} 0x000000000014220c",
        ]);
        if (group is not null)
        {
            using var mapping = SharedMemoryMapping.CreateOrOpen(Path.Combine(dir, "resource2"), size, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null);
            using EngineRegion region = EngineRegion.Initialize(mapping, group, slotCount: 2, generation: 1);
        }
    }
}
