namespace OverlayKvm.Fuzz.Fixtures;

/// <summary>
/// A private directory (prefix fz-) for one target's files: under /dev/shm when region files live there, else under
/// the temp directory. Deleted with everything in it on dispose.
/// </summary>
internal sealed class ScratchDirectory : IDisposable
{
    public ScratchDirectory(string purpose, bool sharedMemory = false)
    {
        string root = sharedMemory ? "/dev/shm" : System.IO.Path.GetTempPath();
        Path = Directory.CreateDirectory(System.IO.Path.Combine(root, $"fz-{purpose}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40])).FullName;
    }

    public string Path { get; }

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
