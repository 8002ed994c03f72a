namespace OverlayKvm.Core.Channel;

/// <summary>
/// Type byte of a host-channel message (docs/host-channel.md). The set is open: a receiver answers a type it
/// does not know with <see cref="Error"/> and carries on, so new messages (the acceleration engine's register,
/// query, negotiation) can be added without breaking older peers.
/// </summary>
internal enum ChannelMessageType : byte
{
    /// <summary>First message both ways: protocol version and role (JSON <see cref="HelloMessage"/>).</summary>
    Hello = 1,
    /// <summary>Host → agent: a configuration document (JSON DomainConfigDocument).</summary>
    Config = 2,
    /// <summary>Agent → host: outcome of applying a document (JSON <see cref="ConfigAckMessage"/>).</summary>
    ConfigAck = 3,
    /// <summary>Either way: something the peer sent was refused (JSON <see cref="ErrorMessage"/>).</summary>
    Error = 4,
    /// <summary>Either way, empty payload: liveness; answered by a heartbeat from the agent.</summary>
    Heartbeat = 5,
    /// <summary>Agent → host: an app's count went 0→1 (JSON <see cref="AppEventMessage"/>).</summary>
    AppStarted = 6,
    /// <summary>Agent → host: an app's count went 1→0 (JSON <see cref="AppEventMessage"/>).</summary>
    AppStopped = 7,
    /// <summary>Engine "hypercall" register: agent → host <see cref="EngineAddressRequest"/>, host → agent <see cref="EngineRegisterAnswer"/> (same id).</summary>
    Register = 8,
    /// <summary>Engine query: agent → host <see cref="EngineAddressRequest"/>, host → agent <see cref="EngineQueryAnswer"/> (same id).</summary>
    Query = 9,
    /// <summary>Engine deregister: agent → host <see cref="EngineAddressRequest"/>, host → agent <see cref="EngineDeregisterAnswer"/> (same id).</summary>
    Deregister = 10,
    /// <summary>Host → agent: the engine directory of a group changed (JSON <see cref="EngineDirectoryChangedMessage"/>): drop cached query answers.</summary>
    EngineDirectoryChanged = 11,
    /// <summary>Host → agent: send your counters (JSON <see cref="AgentCounterRequest"/>).</summary>
    CounterRequest = 12,
    /// <summary>Agent → host: the counters (JSON <see cref="AgentCounterReply"/>, same id); untrusted, checked by <see cref="AgentCountersRules"/>.</summary>
    CounterReport = 13,
    /// <summary>Agent → host: no route for an address, asks the directory (JSON <see cref="Channel.DirectoryQuery"/>; seed 002 R4–R5).</summary>
    DirectoryQuery = 14,
    /// <summary>Host → agent: the directory's answer (JSON <see cref="Channel.DirectoryAnswer"/>, same id).</summary>
    DirectoryAnswer = 15,
    /// <summary>Host → agent <see cref="EngineLeaveRequest"/>: unmap the engine regions, they are about to be unplugged; agent → host <see cref="EngineLeaveReply"/> (same id) once they are.</summary>
    EngineLeave = 16,
    /// <summary>Host → agent <see cref="EngineJoinNotice"/>: this host's regions are plugged in: attach (again).</summary>
    EngineJoin = 17,
}
