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
    /// <summary>Reserved for the acceleration engine: register an app address ("hypercall").</summary>
    Register = 8,
    /// <summary>Reserved for the acceleration engine: is an address reachable through the host?</summary>
    Query = 9,
    /// <summary>Reserved for the acceleration engine: withdraw a registration.</summary>
    Deregister = 10,
}
