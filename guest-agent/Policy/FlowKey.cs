namespace OverlayKvm.GuestAgent.Policy;

/// <summary>
/// What a transmission rule is about (seed 004 R4.6): source and destination overlay addresses (big-endian),
/// IP protocol and destination port (0 for protocols without ports). A value type with generated equality, so
/// a rule lookup per packet allocates nothing.
/// </summary>
internal readonly record struct FlowKey(uint Source, uint Destination, byte Protocol, ushort Port)
{
    /// <summary>The key of the flow a reply to this one belongs to, given the reply's source port.</summary>
    public FlowKey Reverse(ushort replySourcePort) => new(Destination, Source, Protocol, replySourcePort);

    public override string ToString() =>
        $"{Format(Source)} -> {Format(Destination)} {ProtocolName(Protocol)}{(Port == 0 ? "" : "/" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture))}";

    internal static string Format(uint address) =>
        $"{address >> 24}.{(address >> 16) & 0xFF}.{(address >> 8) & 0xFF}.{address & 0xFF}";

    internal static string ProtocolName(byte protocol) => protocol switch
    {
        1 => "icmp",
        6 => "tcp",
        17 => "udp",
        _ => "proto-" + protocol.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
