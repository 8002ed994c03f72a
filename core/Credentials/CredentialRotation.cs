using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Credentials;

/// <summary>
/// What a rotation changes (R0.4), independent of the store: a new epoch N+1 with a fresh key, and every
/// older live epoch scheduled to retire at now + grace (never later than it was already scheduled), so that
/// frames sealed under the previous key still open while peers pick up the new one.
/// </summary>
public static class CredentialRotation
{
    public static readonly TimeSpan MaxGrace = TimeSpan.FromDays(30);

    /// <summary>A scheduled retirement of an existing epoch.</summary>
    public readonly record struct Retirement(int Epoch, DateTimeOffset RetiresAt);

    /// <summary>The new epoch and the retirements to apply.</summary>
    public sealed record Plan(GroupCredential NewCredential, IReadOnlyList<Retirement> Retirements);

    /// <param name="existing">Every stored epoch of the group (live or not).</param>
    public static Plan Rotate(string group, IReadOnlyList<GroupCredential> existing, DateTimeOffset now, TimeSpan grace)
    {
        CheckGrace(group, grace);
        var highest = 0;
        var retirements = new List<Retirement>();
        var retireAt = now + grace;
        foreach (var credential in existing)
        {
            highest = Math.Max(highest, credential.Epoch);
            if (!CredentialLifetime.IsLive(credential, now))
            {
                continue;
            }

            if (credential.RetiresAt is null || credential.RetiresAt.Value > retireAt)
            {
                retirements.Add(new Retirement(credential.Epoch, retireAt));
            }
        }

        var fresh = new GroupCredential(group, highest + 1, GroupKeyGenerator.NewKey(), now, null);
        return new Plan(fresh, retirements);
    }

    public static void CheckGrace(string group, TimeSpan grace)
    {
        if (grace < TimeSpan.Zero || grace > MaxGrace)
        {
            throw new ModelValidationException($"group {group}: grace period", $"{grace} is outside 0 to {MaxGrace.TotalDays} days");
        }
    }
}
