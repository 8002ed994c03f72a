using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>
/// Seals secrets (group keys, the canary) with the cluster key before they reach etcd: AES-256-GCM, a random
/// 96-bit nonce per value, and the etcd key name plus the cluster key's id as associated data, so a sealed
/// value copied under another key name, or presented as sealed by another cluster key, does not open.
/// With a previous key (rotation), values sealed by it still open; everything new is sealed with the current one.
/// </summary>
internal sealed class SecretSealer(ClusterKey current, ClusterKey? previous = null)
{
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public ClusterKey Current { get; } = current;

    public ClusterKey? Previous { get; } = previous;

    public byte[] Seal(string keyName, ReadOnlySpan<byte> plaintext)
    {
        var nonce = RandomNumberGenerator.GetBytes(NonceSize);
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[TagSize];
        using (var aes = new AesGcm(Current.Key, TagSize))
        {
            aes.Encrypt(nonce, plaintext, ciphertext, tag, AssociatedData(keyName, Current.Id));
        }

        return JsonSerializer.SerializeToUtf8Bytes(new SealedValue(Current.Id, nonce, [.. ciphertext, .. tag]), EtcdJsonContext.Default.SealedValue);
    }

    /// <summary>The key id that sealed <paramref name="value"/> (to find values still sealed by a previous key).</summary>
    public static string SealedBy(ReadOnlySpan<byte> value) =>
        JsonSerializer.Deserialize(value, EtcdJsonContext.Default.SealedValue)?.KeyId ?? "";

    /// <exception cref="CryptographicException">Neither key opens it (wrong cluster key, or the value was altered or moved).</exception>
    public byte[] Open(string keyName, ReadOnlySpan<byte> value)
    {
        var sealedValue = JsonSerializer.Deserialize(value, EtcdJsonContext.Default.SealedValue)
            ?? throw new CryptographicException($"{keyName}: not a sealed value");
        var key = sealedValue.KeyId == Current.Id ? Current
            : Previous is not null && sealedValue.KeyId == Previous.Id ? Previous
            : throw new CryptographicException(
                $"{keyName} is sealed by cluster key id {sealedValue.KeyId}, but this daemon has {Describe()}");
        if (sealedValue.Nonce.Length != NonceSize || sealedValue.Data.Length < TagSize)
        {
            throw new CryptographicException($"{keyName}: malformed sealed value");
        }

        var data = sealedValue.Data;
        var plaintext = new byte[data.Length - TagSize];
        using var aes = new AesGcm(key.Key, TagSize);
        aes.Decrypt(sealedValue.Nonce, data.AsSpan(0, plaintext.Length), data.AsSpan(plaintext.Length), plaintext, AssociatedData(keyName, key.Id));
        return plaintext;
    }

    public string Describe() => Previous is null
        ? $"id {Current.Id} ({Current.Path})"
        : $"id {Current.Id} ({Current.Path}) and previous id {Previous.Id} ({Previous.Path})";

    private static byte[] AssociatedData(string keyName, string keyId) => Encoding.UTF8.GetBytes($"overlaykvm sealed v1\n{keyName}\n{keyId}");
}

/// <summary>What etcd holds for a secret: which cluster key sealed it, the nonce, ciphertext‖tag. Version 1.</summary>
internal sealed record SealedValue(
    [property: JsonPropertyName("kid")] string KeyId,
    [property: JsonPropertyName("nonce")] byte[] Nonce,
    [property: JsonPropertyName("data")] byte[] Data);
