using System.Net;
using System.Net.Sockets;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.SharedMemory;
using OverlayKvm.HostDaemon.Engine;

namespace OverlayKvm.HostDaemon.Channel;

/// <summary>
/// Turns one engine request from a domain's channel (register, query, deregister, heartbeat) into a call on
/// <see cref="EngineRegistry"/> and the answer to send back. The domain is the one the channel belongs to,
/// fixed at construction: nothing in the payload can name another VM. Malformed requests (bad JSON, an address
/// that is not IPv4) get an answer with status "Invalid" and the same id when one could be read, and are counted
/// by the caller. Control plane: a few requests per app start and per destination, never per packet.
/// </summary>
internal sealed class EngineHypercallDispatcher
{
    private readonly string _domain;
    private readonly EngineRegistry _registry;
    private readonly Lock _lock = new();
    private readonly HashSet<string> _groups = new(StringComparer.Ordinal);
    private readonly GuestBudget? _budget;

    /// <param name="budget">This domain's request budget; past it requests are answered "Throttled" (issue 14 item 8).</param>
    public EngineHypercallDispatcher(string domain, EngineRegistry registry, GuestBudget? budget = null)
    {
        _domain = domain;
        _registry = registry;
        _budget = budget;
    }

    /// <summary>True when this domain holds (or held) a registration in <paramref name="group"/>: it gets that group's directory pushes.</summary>
    public bool Follows(string group)
    {
        lock (_lock)
        {
            return _groups.Contains(group);
        }
    }

    /// <summary>An answer to send (type, JSON payload) and whether the request was malformed.</summary>
    public readonly record struct Answer(ChannelMessageType Type, byte[] Payload, bool Rejected);

    public Answer Dispatch(ChannelMessageType type, ReadOnlyMemory<byte> payload)
    {
        EngineAddressRequest? request = ChannelConnection.TryParse(payload, ChannelJsonContext.Default.EngineAddressRequest, out string? parseError);
        IPAddress? address = null;
        string? error = parseError;
        if (request is not null && (!IPAddress.TryParse(request.Address, out address) || address.AddressFamily != AddressFamily.InterNetwork))
        {
            error = $"{type} from domain '{_domain}': '{request.Address}' is not an IPv4 address";
            address = null;
        }

        long id = request?.Id ?? -1;
        if (_budget is not null && !_budget.TryHypercall())
        {
            // Past this domain's budget: answered without the registry's lock, so one guest cannot starve the others.
            return type switch
            {
                ChannelMessageType.Register => Json(type, new EngineRegisterAnswer(id, false, "Throttled", null, -1, null, 0, $"{type} from domain '{_domain}': too many engine requests; retry later"), rejected: true),
                ChannelMessageType.Query => Json(type, new EngineQueryAnswer(id, false, "Throttled", null, -1, -1, null, 0, 0), rejected: true),
                ChannelMessageType.Deregister => Json(type, new EngineDeregisterAnswer(id, false, "Throttled"), rejected: true),
                _ => throw new ArgumentOutOfRangeException(nameof(type), $"message type {(byte)type} is not an engine request"),
            };
        }

        return type switch
        {
            ChannelMessageType.Register => RegisterAnswer(id, address, request?.SuperPackets ?? false, error),
            ChannelMessageType.Query => QueryAnswer(id, address),
            ChannelMessageType.Deregister => DeregisterAnswer(id, address),
            _ => throw new ArgumentOutOfRangeException(nameof(type), $"message type {(byte)type} is not an engine request"),
        };
    }

    /// <summary>heartbeat() of this domain; false when it holds no slot (the agent re-registers on its next round).</summary>
    public bool Heartbeat() => (_budget is null || _budget.TryHypercall()) && _registry.Heartbeat(_domain) == HeartbeatStatus.Accepted;

    private Answer RegisterAnswer(long id, IPAddress? address, bool superPackets, string? error)
    {
        if (address is null)
        {
            return Json(ChannelMessageType.Register, new EngineRegisterAnswer(id, false, "Invalid", null, -1, null, 0, error), rejected: true);
        }

        RegisterResult result;
        try
        {
            result = _registry.Register(_domain, address, superPackets);
        }
        catch (SharedMemoryRegionException ex)
        {
            // One bad region file must not end this domain's channel (issue 14 item 7): the agent hears "engine
            // unavailable", keeps the sealed path and retries at its next round; overlayd serves everyone else.
            return Json(ChannelMessageType.Register,
                new EngineRegisterAnswer(id, false, "EngineUnavailable", null, -1, null, 0, $"register from domain '{_domain}': {ex.Message}"), rejected: false);
        }

        if (result.Succeeded)
        {
            lock (_lock)
            {
                _groups.Add(result.Group!);
            }
        }

        return Json(ChannelMessageType.Register,
            new EngineRegisterAnswer(id, result.Succeeded, result.Status.ToString(), result.Group, result.Slot, result.RegionName, result.Generation, result.Error),
            rejected: false);
    }

    private Answer QueryAnswer(long id, IPAddress? address)
    {
        if (address is null)
        {
            return Json(ChannelMessageType.Query, new EngineQueryAnswer(id, false, "Invalid", null, -1, -1, null, 0, 0), rejected: true);
        }

        QueryResult r = _registry.Query(_domain, address);
        return Json(ChannelMessageType.Query,
            new EngineQueryAnswer(id, r.Accessible, r.Outcome.ToString(), r.Group, r.Slot, r.AskerSlot, r.RegionName, r.Generation, r.DirectoryVersion, r.SuperPackets),
            rejected: false);
    }

    private Answer DeregisterAnswer(long id, IPAddress? address)
    {
        if (address is null)
        {
            return Json(ChannelMessageType.Deregister, new EngineDeregisterAnswer(id, false, "Invalid"), rejected: true);
        }

        DeregisterStatus status = _registry.Deregister(_domain, address);
        return Json(ChannelMessageType.Deregister, new EngineDeregisterAnswer(id, status == DeregisterStatus.Deregistered, status.ToString()), rejected: false);
    }

    private static Answer Json<T>(ChannelMessageType type, T value, bool rejected) =>
        new(type, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value, (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)ChannelJsonContext.Default.GetTypeInfo(typeof(T))!), rejected);
}
