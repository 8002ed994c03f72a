using OverlayKvm.Core.Model;

namespace OverlayKvm.Core.Credentials;

/// <summary>When a key epoch counts as live: not yet retired, or retiring strictly after now.</summary>
public static class CredentialLifetime
{
    public static bool IsLive(DateTimeOffset? retiresAt, DateTimeOffset now) => retiresAt is null || retiresAt.Value > now;

    public static bool IsLive(GroupCredential credential, DateTimeOffset now) => IsLive(credential.RetiresAt, now);
}
