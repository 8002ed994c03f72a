namespace OverlayKvm.Core.Model;

/// <summary>
/// One key epoch of a group. Rotation adds epoch N+1 and keeps epoch N until <see cref="RetiresAt"/> so that
/// frames in flight still open (R0.4). <see cref="Key"/> is 32 bytes from a CSPRNG; it never appears in logs.
/// </summary>
public sealed record GroupCredential(
    string Group,
    int Epoch,
    byte[] Key,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RetiresAt)
{
    /// <summary>Never print key material: records print themselves in logs and exceptions.</summary>
    public override string ToString() =>
        $"GroupCredential {{ Group = {Group}, Epoch = {Epoch}, Key = <redacted>, CreatedAt = {CreatedAt:O}, RetiresAt = {RetiresAt:O} }}";
}
