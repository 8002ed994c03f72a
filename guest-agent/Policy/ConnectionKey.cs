namespace OverlayKvm.GuestAgent.Policy;

/// <summary>
/// One connection as its first packet named it: the full 5-tuple in the direction a rule allowed (addresses
/// big-endian; ports 0 for protocols without ports). Replies are matched against it with both ports, so an
/// allowed L→P:443 lets only P:443→L:(L's port) back in, never P:443→L:22 (issue 14 item 3).
/// </summary>
internal readonly record struct ConnectionKey(uint Source, ushort SourcePort, uint Destination, ushort DestinationPort, byte Protocol)
{
    /// <summary>The connection a packet (source:sourcePort → flow's destination:port) answers, if it is a reply.</summary>
    public static ConnectionKey AnsweredBy(in FlowKey reply, ushort replySourcePort) =>
        new(reply.Destination, reply.Port, reply.Source, replySourcePort, reply.Protocol);

    /// <summary>The connection a packet of an allowed flow opens (or keeps open).</summary>
    public static ConnectionKey OpenedBy(in FlowKey flow, ushort sourcePort) =>
        new(flow.Source, sourcePort, flow.Destination, flow.Port, flow.Protocol);
}
