using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OverlayKvm.Core.Crypto;

/// <summary>
/// 32-bit identifiers carried in the sealed-frame header, derived from names every agent already knows (the
/// group's name, the sending domain's name), so no coordinator has to hand out numbers and every agent computes
/// the same value. Collisions within one host's view are detected when a configuration is compiled and refused.
/// </summary>
internal static class OverlayIds
{
    public static uint GroupId(string groupName) => Hash("overlaykvm group id v1\0", groupName);

    public static uint SenderIndex(string domainName) => Hash("overlaykvm sender index v1\0", domainName);

    private static uint Hash(string label, string name)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(label + name), digest);
        return BinaryPrimitives.ReadUInt32BigEndian(digest);
    }
}
