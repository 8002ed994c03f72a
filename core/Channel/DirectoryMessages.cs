using OverlayKvm.Core.Config;

namespace OverlayKvm.Core.Channel;

/// <summary>
/// Agent → host (<see cref="ChannelMessageType.DirectoryQuery"/>, seed 002 R4–R5): the agent has no route for an
/// overlay address and asks the directory. The host never reads a domain from the message: the channel names the VM.
/// </summary>
/// <param name="Id">Chosen by the agent, echoed in the answer.</param>
/// <param name="Address">Overlay IPv4 address (dotted quad).</param>
internal sealed record DirectoryQuery(long Id, string Address);

/// <summary>
/// Host → agent (<see cref="ChannelMessageType.DirectoryAnswer"/>): the member at that address with its route, exactly
/// as the domain's configuration document would list it (so the same policy rules decide what a domain may know), or
/// not found — the same answer for "no such app" and "not yours to know". The agent caches either for <paramref name="TtlSeconds"/>.
/// </summary>
/// <param name="Group">The member's group: one of the domain's groups or of its neighbors.</param>
/// <param name="Version">Version of the document the answer was taken from: a pushed document at least this new supersedes it.</param>
internal sealed record DirectoryAnswer(long Id, string Address, bool Found, string? Group, MemberConfig? Member, long Version, int TtlSeconds);
