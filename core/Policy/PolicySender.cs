using System.Net;

namespace OverlayKvm.Core.Policy;

/// <summary>
/// One sender term of a policy. A negated term ("not:group:G1") excludes: a sender matches a policy when it
/// matches one of the policy's positive terms (or the policy has none) and none of its negated terms (R4.3).
/// Text forms are parsed and printed by <see cref="PolicyText"/>.
/// </summary>
/// <param name="Group">For <see cref="SenderKind.Group"/> and <see cref="SenderKind.App"/>.</param>
/// <param name="App">For <see cref="SenderKind.App"/>: the app's name inside <paramref name="Group"/>.</param>
/// <param name="Cidr">For <see cref="SenderKind.Cidr"/>; a single address is a /32 (/128).</param>
public sealed record PolicySender(SenderKind Kind, bool Negated, string? Group, string? App, IPNetwork? Cidr)
{
    public static PolicySender AnySender { get; } = new(SenderKind.Any, false, null, null, null);

    public static PolicySender OfGroup(string group, bool negated = false) => new(SenderKind.Group, negated, group, null, null);

    public static PolicySender OfApp(string group, string app, bool negated = false) => new(SenderKind.App, negated, group, app, null);

    public static PolicySender OfCidr(IPNetwork cidr, bool negated = false) => new(SenderKind.Cidr, negated, null, null, cidr);

    public override string ToString() => PolicyText.FormatSender(this);
}
