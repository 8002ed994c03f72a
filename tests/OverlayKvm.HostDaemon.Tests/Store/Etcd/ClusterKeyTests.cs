using System.Security.Cryptography;
using System.Text;
using OverlayKvm.HostDaemon.Store.Etcd;

namespace OverlayKvm.HostDaemon.Tests.Store.Etcd;

/// <summary>The cluster-key file rules and the sealing of secrets at rest (no etcd needed).</summary>
public sealed class ClusterKeyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ek-ck-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Load_Mode0600_32Bytes_Accepted_IdIsStableAndNotTheKey()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var path = Write("k", key, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var loaded = ClusterKey.Load(path);

        Assert.Equal(key, loaded.Key);
        Assert.Equal(16, loaded.Id.Length);
        Assert.Equal(loaded.Id, ClusterKey.Load(path).Id);
        Assert.DoesNotContain(loaded.Id, Convert.ToHexStringLower(key), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(32, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, "mode 640 lets others read it; it must be 0600")]
    [InlineData(32, UnixFileMode.UserRead | UnixFileMode.OtherRead, "mode 404 lets others read it; it must be 0600")]
    [InlineData(31, UnixFileMode.UserRead | UnixFileMode.UserWrite, "holds 31 bytes; it must hold exactly 32")]
    [InlineData(33, UnixFileMode.UserRead, "holds 33 bytes; it must hold exactly 32")]
    public void Load_BadFile_RefusedWithOneLineNamingTheFile(int size, UnixFileMode mode, string expected)
    {
        var path = Write("k", RandomNumberGenerator.GetBytes(size), mode);

        var error = Assert.Throws<InvalidOperationException>(() => ClusterKey.Load(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Load_Missing_SaysHowToCreateOne()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ClusterKey.Load(Path.Combine(_dir, "none")));
        Assert.Contains("no such file (create one with: head -c 32 /dev/urandom", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Seal_OpensOnlyUnderSameKeyNameAndClusterKey_NoPlaintextInValue()
    {
        var current = ClusterKey.FromBytes(RandomNumberGenerator.GetBytes(32));
        var sealer = new SecretSealer(current);
        var secret = RandomNumberGenerator.GetBytes(32);

        var value = sealer.Seal("/p/keys/web/1", secret);

        Assert.Equal(secret, sealer.Open("/p/keys/web/1", value));
        var text = Encoding.UTF8.GetString(value);
        Assert.DoesNotContain(Convert.ToBase64String(secret), text, StringComparison.Ordinal);
        Assert.True(value.AsSpan().IndexOf(secret) < 0);
        // Moved under another key name: the associated data differs, so it does not open.
        Assert.ThrowsAny<CryptographicException>(() => sealer.Open("/p/keys/db/1", value));
        // Another cluster key: refused by id, naming both.
        var other = new SecretSealer(ClusterKey.FromBytes(RandomNumberGenerator.GetBytes(32)));
        var error = Assert.ThrowsAny<CryptographicException>(() => other.Open("/p/keys/web/1", value));
        Assert.Contains(current.Id, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rotation_PreviousKeyStillOpens_NewValuesSealedWithCurrent()
    {
        var old = ClusterKey.FromBytes(RandomNumberGenerator.GetBytes(32));
        var sealedByOld = new SecretSealer(old).Seal("/p/keys/web/1", "k"u8);
        var rotated = new SecretSealer(ClusterKey.FromBytes(RandomNumberGenerator.GetBytes(32)), old);

        Assert.Equal("k"u8.ToArray(), rotated.Open("/p/keys/web/1", sealedByOld));
        Assert.Equal(old.Id, SecretSealer.SealedBy(sealedByOld));
        Assert.Equal(rotated.Current.Id, SecretSealer.SealedBy(rotated.Seal("/p/keys/web/1", "k"u8)));
    }

    [Fact]
    public void Options_EveryProblemReported_WithItsPath()
    {
        var result = new EtcdStoreOptionsValidator().Validate(null, new EtcdStoreOptions
        {
            Endpoints = "http://127.0.0.1:2379,ftp://x,https://127.0.0.1:2380",
            Prefix = "overlaykvm",
            ClientCertificate = "/nonexistent.pem",
            User = "root",
            RequestTimeout = TimeSpan.Zero,
        });

        Assert.True(result.Failed);
        var failures = result.Failures.ToList();
        Assert.Contains(failures, f => f.StartsWith("Etcd.Endpoints: 'ftp://x' is not an http(s)://HOST:PORT URL", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Etcd.Endpoints: mixes http and https", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Etcd.Prefix:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Etcd.ClusterKey: is empty", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Etcd.ClientCertificate: '/nonexistent.pem' does not exist", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Etcd.ClientCertificate/ClientKey: give both", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Etcd.User/PasswordFile: give both", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Etcd.RequestTimeout:", StringComparison.Ordinal));
    }

    private string Write(string name, byte[] content, UnixFileMode mode)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, content);
        File.SetUnixFileMode(path, mode);
        return path;
    }
}
