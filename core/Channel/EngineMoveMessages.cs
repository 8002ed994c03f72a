namespace OverlayKvm.Core.Channel;

/// <summary>
/// Host → agent (<see cref="ChannelMessageType.EngineLeave"/>): the host is about to hot-unplug this VM's engine
/// regions (live migration). The agent unmaps every region, stops attaching, and answers with the same id once
/// nothing of them is mapped any more: after PCI removal a mapped BAR gives SIGBUS on the next access.
/// </summary>
/// <param name="Id">Chosen by the host, echoed in the <see cref="EngineLeaveReply"/>.</param>
internal sealed record EngineLeaveRequest(long Id);

/// <summary>Agent → host (<see cref="ChannelMessageType.EngineLeave"/>, same id): the regions are unmapped (or why not).</summary>
/// <param name="Left">True when nothing of any engine region is mapped any more and none will be until an <see cref="EngineJoinNotice"/>.</param>
/// <param name="Unmapped">How many group regions were unmapped for this request (0 when none was attached).</param>
/// <param name="Error">Why the agent could not leave, when it could not.</param>
internal sealed record EngineLeaveReply(long Id, bool Left, int Unmapped, string? Error);

/// <summary>
/// Host → agent (<see cref="ChannelMessageType.EngineJoin"/>): this host's engine regions are (again) plugged into the
/// VM: attaching is allowed again, and the agent registers at once instead of at its next round.
/// </summary>
/// <param name="Id">Chosen by the host, for logs only (no answer).</param>
internal sealed record EngineJoinNotice(long Id);
