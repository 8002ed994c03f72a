namespace OverlayKvm.Core.Policy;

/// <summary>
/// The protocol a policy names. Values are the IANA protocol numbers carried in the IP header, so the agent
/// can compare the packet's byte directly; <see cref="Any"/> (0) matches every protocol. A policy for
/// <see cref="Icmp"/> also covers ICMPv6 (58): operators think of "ping", not of the address family.
/// </summary>
public enum PolicyProtocol : byte
{
    Any = 0,
    Icmp = 1,
    Tcp = 6,
    Udp = 17,
}

/// <summary>Protocol numbers a query may carry besides the policy protocols.</summary>
public static class IpProtocolNumbers
{
    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte IcmpV6 = 58;
}
