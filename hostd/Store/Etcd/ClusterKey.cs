using System.Security.Cryptography;

namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>
/// The 32-byte secret every overlayd of a cluster shares (<c>--cluster-key FILE</c>); it seals group keys at rest
/// in etcd. The file must hold exactly 32 bytes and be readable by its owner only, like an ssh private key.
/// </summary>
internal sealed class ClusterKey
{
    public const int Size = 32;

    private ClusterKey(byte[] key, string path)
    {
        Key = key;
        Path = path;
        // The id names the key in sealed values without revealing it: a hash, truncated (8 bytes are plenty to
        // tell the current key from the previous one and to say which one sealed a value).
        Id = Convert.ToHexStringLower(SHA256.HashData([.. "overlaykvm cluster key id\n"u8, .. key]))[..16];
    }

    public byte[] Key { get; }

    public string Path { get; }

    public string Id { get; }

    /// <summary>Reads and checks the file; every refusal is one line naming the file and what to do.</summary>
    public static ClusterKey Load(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new InvalidOperationException($"cluster key {full}: no such file (create one with: head -c 32 /dev/urandom > {full}; chmod 600 {full})");
        }

        var mode = File.GetUnixFileMode(full);
        if ((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
                     UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute)) != 0)
        {
            throw new InvalidOperationException($"cluster key {full}: mode {Convert.ToString((int)mode, 8)} lets others read it; it must be 0600 (chmod 600 {full})");
        }

        var key = File.ReadAllBytes(full);
        if (key.Length != Size)
        {
            throw new InvalidOperationException($"cluster key {full}: holds {key.Length} bytes; it must hold exactly {Size} (head -c 32 /dev/urandom)");
        }

        return new ClusterKey(key, full);
    }

    /// <summary>For tests and benchmarks that make a key in memory.</summary>
    internal static ClusterKey FromBytes(byte[] key, string name = "(memory)") =>
        key.Length == Size ? new ClusterKey(key, name) : throw new ArgumentException($"a cluster key has {Size} bytes", nameof(key));
}
