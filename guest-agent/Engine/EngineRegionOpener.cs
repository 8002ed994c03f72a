using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.GuestAgent.Engine;

/// <summary>
/// Maps a group's engine region through the one <see cref="SharedMemoryMapping"/> abstraction: in a VM the ivshmem
/// device's BAR2 (<c>resource2</c>, found by <see cref="IvshmemDeviceLocator"/>); where the agent shares the host's
/// memory directly (network-namespace tests, <c>--engine-dir DIR</c>) the file <c>DIR/REGION-NAME</c> named by the
/// register answer. Returns null with a reason when the region is missing or its header is not valid for the group.
/// </summary>
internal sealed class EngineRegionOpener
{
    private readonly string? _directory;
    private readonly string _pciRoot;

    public EngineRegionOpener(string? directory, string pciRoot = IvshmemDeviceLocator.DefaultPciRoot)
    {
        _directory = directory;
        _pciRoot = pciRoot;
    }

    public string Describe() => _directory is null ? $"ivshmem devices under {_pciRoot}" : $"region files in {_directory}";

    public EngineRegion? TryOpen(string group, string regionName, out string? error)
    {
        error = null;
        if (_directory is null)
        {
            EngineRegion? found;
            try
            {
                found = IvshmemDeviceLocator.TryAttachGroup(group, _pciRoot);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                error = $"engine of group '{group}': ivshmem devices under {_pciRoot}: {ex.Message}";
                return null;
            }

            if (found is null)
            {
                error = $"engine of group '{group}': no ivshmem device under {_pciRoot} carries a valid region of the group";
            }

            return found;
        }

        // The name comes from the host; refuse anything that could leave the directory.
        if (regionName.Length == 0 || regionName.Contains('/', StringComparison.Ordinal) || regionName is "." or "..")
        {
            error = $"engine of group '{group}': region name '{regionName}' from the host is not a file name";
            return null;
        }

        string path = Path.Combine(_directory, regionName);
        SharedMemoryMapping mapping;
        try
        {
            mapping = SharedMemoryMapping.Open(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            error = $"engine of group '{group}': cannot map {path}: {ex.Message}";
            return null;
        }

        RegionHeaderStatus status = EngineRegion.TryAttach(mapping, out EngineRegion? region);
        if (status != RegionHeaderStatus.Valid || region is null || region.Group != group)
        {
            error = $"engine of group '{group}': {path} is not a valid region of the group ({status}{(region is null ? "" : ", group " + region.Group)})";
            if (region is not null)
            {
                region.Dispose();
            }
            else
            {
                mapping.Dispose();
            }

            return null;
        }

        return region;
    }
}
