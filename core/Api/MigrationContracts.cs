using System.Text.Json.Serialization;

namespace OverlayKvm.Core.Api;

/// <summary>Body of POST /v1/domains/{name}/migrate (<c>overlayctl domain-migrate DOMAIN --to HOST</c>).</summary>
/// <param name="To">Name of the destination host in the cluster inventory.</param>
/// <param name="Force">Unplug the regions even when the agent did not confirm it unmapped them (an agent that still maps one dies of SIGBUS).</param>
public sealed record MigrateRequest(
    [property: JsonPropertyName("to")] string To,
    [property: JsonPropertyName("force")] bool Force = false);

/// <summary>What domain-migrate did, step by step, with how long each step took.</summary>
/// <param name="AgentLeft">The agent confirmed it unmapped the regions before they were unplugged.</param>
/// <param name="RegionsUnmapped">Group regions the agent unmapped (as it reported).</param>
/// <param name="RegionsUnplugged">Region devices unplugged from the VM on the source host.</param>
/// <param name="LeaveSeconds">Time from the leave request to the agent's reply (it waits out its attachments' retire grace).</param>
/// <param name="UnplugSeconds">Time until libvirt's live definition no longer held the regions (the guest answered the eject).</param>
/// <param name="MigrateSeconds">Time libvirt took to migrate the domain.</param>
public sealed record MigrateResponse(
    [property: JsonPropertyName("domain")] string Domain,
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To,
    [property: JsonPropertyName("agentLeft")] bool AgentLeft,
    [property: JsonPropertyName("regionsUnmapped")] int RegionsUnmapped,
    [property: JsonPropertyName("regionsUnplugged")] IReadOnlyList<string> RegionsUnplugged,
    [property: JsonPropertyName("leaveSeconds")] double LeaveSeconds,
    [property: JsonPropertyName("unplugSeconds")] double UnplugSeconds,
    [property: JsonPropertyName("migrateSeconds")] double MigrateSeconds);

/// <summary>Answer of POST /v1/domains/{name}/engine-leave: the agent unmapped the engine regions; they may be unplugged now.</summary>
public sealed record EngineLeaveView(
    [property: JsonPropertyName("domain")] string Domain,
    [property: JsonPropertyName("regionsUnmapped")] int RegionsUnmapped,
    [property: JsonPropertyName("slotsReleased")] int SlotsReleased,
    [property: JsonPropertyName("seconds")] double Seconds);

/// <summary>Answer of POST /v1/domains/{name}/engine-join: whether the agent was told now (else at its next connection).</summary>
public sealed record EngineJoinView(
    [property: JsonPropertyName("domain")] string Domain,
    [property: JsonPropertyName("told")] bool Told);
