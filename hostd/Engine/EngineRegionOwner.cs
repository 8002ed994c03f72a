using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.HostDaemon.Engine;

/// <summary>
/// Creates, adopts and removes the engine regions of this host: one file per group, <c>DIR/PREFIX+GROUP</c>,
/// exactly the configured size, mode 0600, owned by the configured user (libvirt's ivshmem-plain backing store).
/// Files are created with O_EXCL; a file already there is reopened only if it is exactly what this owner makes
/// (owner, mode, size: <see cref="SharedMemoryMapping.CreateExclusive"/>), else removed and created afresh. Every
/// failure is a <see cref="SharedMemoryRegionException"/>.
/// A region that survives a daemon restart with a valid header is adopted as it is, so the rings keep serving
/// while the control plane restarts (fail-static); an unreadable one is re-initialised with a higher generation.
/// </summary>
public sealed partial class EngineRegionOwner : IDisposable
{
    private readonly EngineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<EngineRegionOwner> _logger;
    private readonly Dictionary<string, EngineRegion> _regions = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public EngineRegionOwner(IOptions<EngineOptions> options, TimeProvider time, ILogger<EngineRegionOwner> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>The libvirt <c>&lt;shmem name&gt;</c> of a group's region (also its file name).</summary>
    public string RegionName(string group)
    {
        if (!GroupNamePattern().IsMatch(group))
        {
            throw new ArgumentException($"engine region: group name '{group}' must match [A-Za-z0-9_.-]{{1,64}} (it names a file)", nameof(group));
        }

        return _options.NamePrefix + group;
    }

    public string RegionPath(string group) => Path.Combine(_options.Directory, RegionName(group));

    public long RegionSizeBytes => _options.RegionSizeBytes;

    /// <summary>The group's region, created or adopted on first use.</summary>
    public EngineRegion Ensure(string group)
    {
        lock (_lock)
        {
            if (_regions.TryGetValue(group, out EngineRegion? existing))
            {
                return existing;
            }

            EngineRegion region = OpenOrCreateLocked(group);
            _regions.Add(group, region);
            return region;
        }
    }

    public bool TryGet(string group, out EngineRegion? region)
    {
        lock (_lock)
        {
            return _regions.TryGetValue(group, out region);
        }
    }

    /// <summary>Re-initialises a group's region with a new generation (agents re-attach; rings start empty).</summary>
    public EngineRegion Recreate(string group)
    {
        lock (_lock)
        {
            ulong previous = 0;
            if (_regions.Remove(group, out EngineRegion? old))
            {
                previous = old.Generation;
                old.Dispose();
            }

            string path = RegionPath(group);
            SharedMemoryMapping mapping = MapLocked(path);
            EngineRegion region = InitializeLocked(mapping, group, previous);
            _regions.Add(group, region);
            return region;
        }
    }

    /// <summary>Unmaps and deletes a group's region (group undefined on this host).</summary>
    public void Remove(string group)
    {
        lock (_lock)
        {
            if (_regions.Remove(group, out EngineRegion? region))
            {
                region.Dispose();
            }

            File.Delete(RegionPath(group));
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (EngineRegion region in _regions.Values)
            {
                region.Dispose();
            }

            _regions.Clear();
        }
    }

    private EngineRegion OpenOrCreateLocked(string group)
    {
        string path = RegionPath(group);
        SharedMemoryMapping mapping = MapLocked(path);
        try
        {
            RegionHeaderStatus status = EngineRegion.TryAttach(mapping, out EngineRegion? adopted);
            if (status == RegionHeaderStatus.Valid && adopted!.Layout.SlotCount == _options.SlotCount && adopted.Group == group)
            {
                Log.Adopted(_logger, group, path, adopted.Generation);
                return adopted;
            }

            ulong previous = adopted?.Generation ?? 0;
            if (adopted is not null)
            {
                // Valid but for another slot count or group: the configuration changed. Unmap, map afresh, re-initialise.
                adopted.Dispose();
                mapping = MapLocked(path);
            }

            return InitializeLocked(mapping, group, previous);
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    private EngineRegion InitializeLocked(SharedMemoryMapping mapping, string group, ulong previousGeneration)
    {
        // Generations rise across daemon restarts without being stored: wall-clock milliseconds, or previous + 1.
        ulong generation = Math.Max(previousGeneration + 1, (ulong)_time.GetUtcNow().ToUnixTimeMilliseconds());
        EngineRegion region = EngineRegion.Initialize(mapping, group, _options.SlotCount, generation);
        Log.Initialized(_logger, group, mapping.Path, generation, region.Layout.RingCapacity);
        return region;
    }

    private SharedMemoryMapping MapLocked(string path)
    {
        (uint, uint)? owner = null;
        if (!string.IsNullOrEmpty(_options.OwnerUser))
        {
            if (!UnixAccounts.TryResolve(_options.OwnerUser, out uint uid, out uint gid))
            {
                throw new SharedMemoryRegionException(path, $"owner user '{_options.OwnerUser}' does not exist");
            }

            owner = (uid, gid);
        }

        SharedMemoryMapping mapping = SharedMemoryMapping.CreateExclusive(path, _options.RegionSizeBytes, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner,
            out RegionFileOrigin origin, out string? replacedReason);
        if (origin == RegionFileOrigin.Replaced)
        {
            Log.ForeignFileReplaced(_logger, path, replacedReason!);
        }

        return mapping;
    }

    [GeneratedRegex(@"^[A-Za-z0-9_.-]{1,64}\z")] // \z: "$" would accept a trailing newline
    private static partial Regex GroupNamePattern();

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "engine region {Path}: a file overlayd did not make was there ({Reason}); removed and created afresh")]
        public static partial void ForeignFileReplaced(ILogger logger, string path, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "engine region of group {Group} adopted at {Path} (generation {Generation}): rings keep serving")]
        public static partial void Adopted(ILogger logger, string group, string path, ulong generation);

        [LoggerMessage(Level = LogLevel.Information, Message = "engine region of group {Group} initialised at {Path} (generation {Generation}, ring capacity {RingCapacity} bytes)")]
        public static partial void Initialized(ILogger logger, string group, string path, ulong generation, int ringCapacity);
    }
}
