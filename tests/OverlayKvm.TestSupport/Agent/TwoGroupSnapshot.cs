using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.TestSupport.Agent;

/// <summary>
/// Seed 004's cross-group example as a store snapshot: vmA (192.0.2.1) runs app B 10.2.0.2 of sealed group G2,
/// vmB (192.0.2.2) runs app D 10.3.0.4 of sealed group G3, each group with one credential. The policy tests
/// (GuestAgent.Tests TwoGroups) and the bench (PolicyCost) build their documents from it.
/// </summary>
public static class TwoGroupSnapshot
{
    public const string B = "10.2.0.2";
    public const string D = "10.3.0.4";

    /// <summary>Fixed keys (all 2s for G2, all 3s for G3): both agents derive from the same document.</summary>
    public static StoreSnapshot Build(long version, IReadOnlyList<AccessPolicy> policies, DateTimeOffset credentialsCreated)
    {
        ApplicationGroup[] groups =
        [
            new("G2", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed, 1) { Number = 2 },
            new("G3", IPNetwork.Parse("10.3.0.0/16"), ProtectionLevel.Sealed, 1) { Number = 3 },
        ];
        Application[] apps =
        [
            new("G2", "B", IPAddress.Parse(B), "vmA", [], 2),
            new("G3", "D", IPAddress.Parse(D), "vmB", [], 2),
        ];
        DomainRecord[] domains =
        [
            new("vmA", null, "h", IPAddress.Parse("192.0.2.1"), 1),
            new("vmB", null, "h", IPAddress.Parse("192.0.2.2"), 1),
        ];
        var credentials = new Dictionary<string, IReadOnlyList<GroupCredential>>
        {
            ["G2"] = [new GroupCredential("G2", 1, Key(2), credentialsCreated, null)],
            ["G3"] = [new GroupCredential("G3", 1, Key(3), credentialsCreated, null)],
        };
        return new StoreSnapshot(version, groups, apps, domains, [], credentials) { Policies = [.. policies] };
    }

    private static byte[] Key(byte fill)
    {
        var key = new byte[32];
        key.AsSpan().Fill(fill);
        return key;
    }
}
