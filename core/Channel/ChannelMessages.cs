namespace OverlayKvm.Core.Channel;

/// <summary>Protocol version spoken on the host channel; peers with a different major version are refused.</summary>
internal static class ChannelProtocol
{
    public const int Version = 1;
    /// <summary>Default upper bound of a message (type byte + payload): everything the guest sends (acks, events,
    /// engine requests, counters) is far smaller; anything above this is hostile or broken and closes the channel.</summary>
    public const int DefaultMaxMessageSize = 1 << 20;
    /// <summary>Upper bound of what the host sends: a configuration document lists every member of the domain's
    /// groups, about 100 bytes each, so 1 MiB would end at about 10,000 members; 16 MiB holds a full /16 group
    /// several times over. The host is the trusted end: the agent accepts this much from it, never the reverse.</summary>
    public const int MaxHostMessageSize = 16 << 20;
    /// <summary>Name of the virtio-serial port libvirt exposes to the guest.</summary>
    public const string VirtioPortName = "org.overlaykvm.agent.0";
}

/// <param name="Protocol">Channel protocol version (<see cref="ChannelProtocol.Version"/>).</param>
/// <param name="Role">"agent" or "host".</param>
/// <param name="Software">Free text, e.g. "overlay-agent 0.1".</param>
internal sealed record HelloMessage(int Protocol, string Role, string Software);

/// <param name="Version">Version of the document this answers.</param>
/// <param name="Applied">True when the agent now runs this version.</param>
/// <param name="Error">Why it was refused, when it was.</param>
internal sealed record ConfigAckMessage(long Version, bool Applied, string? Error);

/// <param name="Code">Stable machine-readable code, e.g. "unknown-type", "bad-payload", "too-large".</param>
internal sealed record ErrorMessage(string Code, string Message);

internal sealed record AppEventMessage(string Group, string App, string Address);
