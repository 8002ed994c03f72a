namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// Prepares the database file before SQLite touches it. The file holds group keys, so it is created 0600 in a
/// 0700 directory. SQLite creates the -wal and -shm files with the mode of the database file, which is why the
/// database file must exist with the right mode first; an existing file or sidecar with a looser mode (copied
/// in, restored from backup) is tightened.
/// </summary>
internal static class SqliteDatabaseFile
{
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>overlayd runs on Linux KVM hosts; file modes are how the keys stay private.</summary>
    private const string UnixOnly = "the OverlayKvm store needs Unix file modes";

    private static readonly string[] Sidecars = ["-wal", "-shm", "-journal"];

    public static void Prepare(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException(UnixOnly);
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, DirectoryMode);
        }

        var options = new FileStreamOptions
        {
            Mode = System.IO.FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite,
            UnixCreateMode = FileMode,
        };
        using (new FileStream(path, options))
        {
        }

        Tighten(path);
    }

    /// <summary>Sets 0600 on the database file and on whichever sidecar files exist right now.</summary>
    public static void Tighten(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException(UnixOnly);
        }

        TightenOne(path);
        foreach (var suffix in Sidecars)
        {
            TightenOne(path + suffix);
        }
    }

    private static void TightenOne(string file)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException(UnixOnly);
        }

        try
        {
            if ((File.GetUnixFileMode(file) & ~FileMode) != 0)
            {
                File.SetUnixFileMode(file, FileMode);
            }
        }
        catch (FileNotFoundException)
        {
            // Sidecars come and go with connections; a missing one has no mode to fix.
        }
    }
}
