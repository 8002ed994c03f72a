using System.Net;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.GuestAgent.Tests.Engine;

/// <summary>
/// A real engine region of group web in a private folder under /dev/shm, initialised as overlayd would (4 slots,
/// vmA in slot 0 with 10.1.0.1 and 10.1.0.3, vmB in slot 1 with 10.1.0.2). The folder is deleted on dispose.
/// </summary>
internal sealed class SharedRegion : IDisposable
{
    public const string Name = "overlaykvm-web";

    public SharedRegion()
    {
        Directory = System.IO.Directory.CreateDirectory($"/dev/shm/okvm-agent-engine-{Guid.NewGuid():N}").FullName;
        var mapping = SharedMemoryMapping.CreateOrOpen(Path.Combine(Directory, Name), 1 << 20, UnixFileMode.UserRead | UnixFileMode.UserWrite, null);
        Daemon = EngineRegion.Initialize(mapping, "web", 4, Generation);
        Daemon.Slots.Write(0, new SlotEntry("vmA", [IPAddress.Parse("10.1.0.1"), IPAddress.Parse("10.1.0.3")], 0));
        Daemon.Slots.Write(1, new SlotEntry("vmB", [IPAddress.Parse("10.1.0.2")], 0));
        Daemon.Control.SetDirectoryVersion(1);
    }

    public const ulong Generation = 77;

    public string Directory { get; }

    /// <summary>The daemon's own mapping (switches, directory version).</summary>
    public EngineRegion Daemon { get; }

    public void Dispose()
    {
        try
        {
            Daemon.Dispose();
        }
        finally
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
