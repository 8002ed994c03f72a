namespace OverlayKvm.Fuzz.Fixtures;

/// <summary>
/// A private directory (prefix fz-) for one target's files: under /dev/shm when region files live there, else under
/// the temp directory. Deleted with everything in it on dispose. Under afl-fuzz the process is killed, never
/// disposed: afl-run.sh then names a directory of its own in <see cref="RootVariable"/> and removes it afterwards.
/// </summary>
internal sealed class ScratchDirectory : IDisposable
{
    public const string RootVariable = "OVERLAYKVM_FUZZ_SCRATCH";

    public ScratchDirectory(string purpose, bool sharedMemory = false)
    {
        string root = Environment.GetEnvironmentVariable(RootVariable) is { Length: > 0 } chosen ? chosen
            : sharedMemory ? "/dev/shm" : System.IO.Path.GetTempPath();
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
