using System.Security.Cryptography;

namespace OverlayKvm.Core.Credentials;

/// <summary>Group keys: 32 bytes (ChaCha20-Poly1305 / AES-256-GCM key size) straight from the OS CSPRNG.</summary>
public static class GroupKeyGenerator
{
    public const int KeySize = 32;

    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(KeySize);
}
