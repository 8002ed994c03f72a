namespace OverlayKvm.Core.Channel;

/// <summary>
/// Agent → host engine request (register, query or deregister, by type byte). <paramref name="Id"/> correlates the
/// answer; the host never reads a domain from the message: the channel names the VM.
/// </summary>
/// <param name="Id">Request id chosen by the agent, echoed in the answer.</param>
/// <param name="Address">Overlay IPv4 address (dotted quad).</param>
/// <param name="SuperPackets">
/// Register only: this agent takes GSO super-packets off the ring (issue 16). Absent (false) from agents older than
/// that: their peers then put only plain packets on the ring towards them, which such agents read.
/// </param>
internal sealed record EngineAddressRequest(long Id, string Address, bool SuperPackets = false);

/// <param name="Status">RegisterStatus name, e.g. "Registered", "AlreadyRegistered", "NotOwnedByDomain", or "Invalid" for a bad request.</param>
/// <param name="Slot">The VM's slot in the group's region (−1 when refused).</param>
/// <param name="RegionName">File / libvirt shmem name of the group's region (e.g. overlaykvm-web).</param>
internal sealed record EngineRegisterAnswer(long Id, bool Ok, string Status, string? Group, int Slot, string? RegionName, ulong Generation, string? Error);

/// <param name="Outcome">QueryOutcome name: "Accessible", "NotGroupMember", "EngineDisabled", … or "Invalid".</param>
/// <param name="Slot">Destination's slot (−1 unless accessible).</param>
/// <param name="AskerSlot">The asking VM's slot (−1 unless accessible).</param>
/// <param name="SuperPackets">The destination's agent said at registration that it takes super-packets off the ring.</param>
internal sealed record EngineQueryAnswer(long Id, bool Accessible, string Outcome, string? Group, int Slot, int AskerSlot,
    string? RegionName, ulong Generation, ulong DirectoryVersion, bool SuperPackets = false);

/// <param name="Status">"Deregistered", "NotRegistered" or "Invalid".</param>
internal sealed record EngineDeregisterAnswer(long Id, bool Ok, string Status);

/// <summary>Host → agent push after a registration change or an engine switch in <paramref name="Group"/>.</summary>
internal sealed record EngineDirectoryChangedMessage(string Group, ulong DirectoryVersion);
