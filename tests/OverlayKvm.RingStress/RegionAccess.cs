using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.RingStress;

internal static class RegionAccess
{
    public static EngineRegion Attach(string path)
    {
        SharedMemoryMapping mapping = SharedMemoryMapping.Open(path);
        RegionHeaderStatus status = EngineRegion.TryAttach(mapping, out EngineRegion? region);
        if (status != RegionHeaderStatus.Valid)
        {
            mapping.Dispose();
            throw new InvalidDataException($"engine region '{path}': header {status}");
        }

        return region!;
    }
}
