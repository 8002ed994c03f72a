namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// A region file could not be laid out (created, replaced or mapped). One typed exception so that each caller
/// (channel supervisor, qemu hook, a domain's channel) can turn it into "engine unavailable" for that region
/// and keep serving everything else.
/// </summary>
public sealed class SharedMemoryRegionException : IOException
{
    public SharedMemoryRegionException(string path, string reason, Exception? inner = null)
        : base($"shared-memory region '{path}': {reason}", inner)
    {
        RegionPath = path;
    }

    public string RegionPath { get; }
}
