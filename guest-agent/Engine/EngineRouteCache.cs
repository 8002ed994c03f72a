using System.Collections.Concurrent;

namespace OverlayKvm.GuestAgent.Engine;

/// <summary>
/// Query answers of one group, by destination (big-endian IPv4). Read per packet by the group's TUN worker
/// (lock-free, no allocation on a hit); written by the engine control service when an answer arrives. A miss or a
/// stale entry asks for one query (deduplicated: one outstanding query per destination) and the packet takes the
/// sealed path meanwhile.
/// </summary>
internal sealed class EngineRouteCache
{
    private readonly ConcurrentDictionary<uint, EngineRoute> _routes = new();
    private readonly ConcurrentDictionary<uint, byte> _asking = new();

    public int Count => _routes.Count;

    /// <summary>The cached answer if it is still current for <paramref name="directoryVersion"/> and <paramref name="generation"/>.</summary>
    public bool TryGetCurrent(uint destination, ulong directoryVersion, ulong generation, out EngineRoute? route)
    {
        if (_routes.TryGetValue(destination, out route) && route.DirectoryVersion == directoryVersion && route.Generation == generation)
        {
            return true;
        }

        route = null;
        return false;
    }

    /// <summary>True when the caller should send a query for <paramref name="destination"/> (none is outstanding).</summary>
    public bool TryBeginQuery(uint destination) => _asking.TryAdd(destination, 0);

    /// <summary>Stores an answer (or forgets the outstanding query when <paramref name="route"/> is null: the host did not answer).</summary>
    public void Complete(uint destination, EngineRoute? route)
    {
        if (route is not null)
        {
            _routes[destination] = route;
        }

        _asking.TryRemove(destination, out _);
    }

    /// <summary>The host said the directory changed: every answer is stale.</summary>
    public void Clear() => _routes.Clear();
}
