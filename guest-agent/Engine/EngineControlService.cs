using System.Buffers.Binary;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.SharedMemory;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Tun;

namespace OverlayKvm.GuestAgent.Engine;

/// <summary>
/// The engine's control loop in the agent (R0.11, R0.12): keeps the host's registry in step with the apps that
/// run here, attaches to each group's region, answers the send stage's queries, and reacts to changes.
/// - every round (an app started or stopped, the host reconnected, a region failed, or every
///   <see cref="RefreshInterval"/>): each running app's address is registered (idempotent on the host, and it
///   refreshes the heartbeat, so a restarted daemon or an expired slot heals by itself); an address whose app
///   stopped is deregistered; the register answer names the region and slot, and the group is (re)attached;
///   a group with nothing registered is detached;
/// - a heartbeat is sent each round;
/// - queued queries are sent and their answers cached; a directory change pushed by the host clears the cache.
/// When overlayd is unreachable nothing is detached: the rings keep serving the answers already cached
/// (fail-static, docs/guest-agent.md), while new destinations take the sealed path until the host answers.
/// </summary>
internal sealed partial class EngineControlService : BackgroundService, IEngineMoves
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    /// <summary>After a query got no answer, how long before that destination may be asked again.</summary>
    public static readonly TimeSpan UnansweredRetry = TimeSpan.FromSeconds(1);

    private readonly EngineDatapath _engine;
    private readonly EngineHypercalls _hypercalls;
    private readonly EngineRegionOpener _opener;
    private readonly AgentState _state;
    private readonly AdapterManager _adapters;
    private readonly ILogger<EngineControlService> _logger;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Dictionary<string, string> _registered = new(StringComparer.Ordinal); // address → group
    private readonly Dictionary<string, string> _lastAttachError = new(StringComparer.Ordinal); // group → last logged reason

    public EngineControlService(EngineDatapath engine, EngineHypercalls hypercalls, EngineRegionOpener opener, AgentState state,
        AdapterManager adapters, ILogger<EngineControlService> logger)
    {
        _engine = engine;
        _hypercalls = hypercalls;
        _opener = opener;
        _state = state;
        _adapters = adapters;
        _logger = logger;
        _adapters.AppChanged += (_, _) => RequestReregister();
        _hypercalls.DirectoryChanged += OnDirectoryChanged;
    }

    /// <summary>Runs a registration round soon (an app changed, a region failed).</summary>
    public void RequestReregister()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A round is already due.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.Starting(_logger, _opener.Describe());
        Task queries = AnswerQueriesAsync(stoppingToken);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await RoundAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One failed round (a region that cannot be opened, a channel that broke mid-call) must not end
                    // the loop: without it there are no heartbeats and no re-attach, silently. Say so and retry.
                    Log.RoundFailed(_logger, ex.GetType().Name, ex.Message);
                }
                try
                {
                    await _wake.WaitAsync(RefreshInterval, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            try
            {
                await queries.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            // Attachments are unmapped by the container when it disposes EngineDatapath, after the workers stopped.
        }
    }

    private async Task RoundAsync(CancellationToken cancellationToken)
    {
        if (HasLeft)
        {
            // The regions are (being) unplugged: register nothing, so no slot and no answer invites an attach; the
            // host freed this domain's slots when it asked us to leave. Until the host says join.
            _registered.Clear();
            await _hypercalls.HeartbeatAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        Dictionary<string, string> wanted = RunningAppAddresses();
        foreach (var (address, group) in wanted)
        {
            EngineRegisterAnswer? answer = await _hypercalls.RegisterAsync(address, cancellationToken).ConfigureAwait(false);
            if (answer is null)
            {
                continue; // no host (or no answer): keep what is attached, try next round
            }

            if (HasLeft)
            {
                // The host asked us to leave while this round was registering: give the slot back at once, so no
                // peer is told to write into a ring nobody will read; the rest of the round is skipped.
                await _hypercalls.DeregisterAsync(address, cancellationToken).ConfigureAwait(false);
                _registered.Clear();
                return;
            }

            if (!answer.Ok || answer.Group != group || answer.RegionName is null)
            {
                if (_registered.Remove(address))
                {
                    DetachIfUnused(group);
                }

                Log.RegisterRefused(_logger, address, answer.Status, answer.Error ?? "(no reason)");
                continue;
            }

            _registered[address] = group;
            EnsureAttached(answer);
        }

        foreach (var (address, group) in _registered.ToArray())
        {
            if (wanted.ContainsKey(address))
            {
                continue;
            }

            // Withdraw even if the host does not answer: the daemon also frees slots when the domain's channel goes.
            await _hypercalls.DeregisterAsync(address, cancellationToken).ConfigureAwait(false);
            _registered.Remove(address);
            DetachIfUnused(group);
        }

        await _hypercalls.HeartbeatAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Addresses of apps that have a running instance here (count ≥ 1), with their group.</summary>
    private Dictionary<string, string> RunningAppAddresses()
    {
        var wanted = new Dictionary<string, string>(StringComparer.Ordinal);
        AgentSnapshot? snapshot = _state.Current;
        if (snapshot is null)
        {
            return wanted;
        }

        foreach (Control.AdapterStat adapter in _adapters.Describe())
        {
            if (adapter.Count <= 0 || !snapshot.GroupsByName.TryGetValue(adapter.Group, out GroupRuntime? group))
            {
                continue;
            }

            foreach (OverlayKvm.Core.Config.LocalAppConfig app in group.LocalApps)
            {
                if (adapter.Apps.Contains(app.Name))
                {
                    wanted[app.Address] = group.Name;
                }
            }
        }

        return wanted;
    }

    // Mapping and publishing happen under the attach lock, which a leave also takes: once LeaveAsync set the flag,
    // no round maps a region that is about to be unplugged (see EngineControlService.Move.cs).
    private void EnsureAttached(EngineRegisterAnswer answer)
    {
        lock (_attachLock)
        {
            if (!HasLeft)
            {
                EnsureAttachedLocked(answer);
            }
        }
    }

    private void EnsureAttachedLocked(EngineRegisterAnswer answer)
    {
        string group = answer.Group!;
        uint groupId = OverlayIds.GroupId(group);
        if (_engine.TryGet(groupId, out EngineAttachment? current)
            && current!.Generation == answer.Generation && current.MySlot == answer.Slot && current.CheckHeader() == RegionHeaderStatus.Valid)
        {
            return;
        }

        EngineRegion? region = _opener.TryOpen(group, answer.RegionName!, out string? error);
        if (region is null)
        {
            AttachFailed(group, error ?? "(unknown)");
            _engine.Detach(groupId);
            return;
        }

        if (region.Generation != answer.Generation || (uint)answer.Slot >= (uint)region.Layout.SlotCount)
        {
            AttachFailed(group, $"region {region.Mapping.Path} is at generation {region.Generation} with {region.Layout.SlotCount} slots; the host assigned slot {answer.Slot} at generation {answer.Generation}");
            region.Dispose();
            _engine.Detach(groupId);
            return;
        }

        _lastAttachError.Remove(group);
        var attachment = new EngineAttachment(group, groupId, region, answer.Slot);
        _engine.Attach(attachment);
        Log.Attached(_logger, group, region.Mapping.Path, answer.Slot, answer.Generation);
        AskForMembers(attachment);
    }

    // Retried every round: log a reason once, not every few seconds.
    private void AttachFailed(string group, string reason)
    {
        if (!_lastAttachError.TryGetValue(group, out string? last) || last != reason)
        {
            _lastAttachError[group] = reason;
            Log.AttachFailed(_logger, group, reason);
        }
    }

    private void DetachIfUnused(string group)
    {
        foreach (string g in _registered.Values)
        {
            if (g == group)
            {
                return;
            }
        }

        if (_engine.Detach(OverlayIds.GroupId(group)) is not null)
        {
            Log.Detached(_logger, group);
        }
    }

    private async Task AnswerQueriesAsync(CancellationToken cancellationToken)
    {
        await foreach (var (groupId, destination) in _engine.PendingQueries.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!_engine.TryGet(groupId, out EngineAttachment? attachment))
            {
                continue;
            }

            EngineQueryAnswer? answer = null;
            try
            {
                answer = await _hypercalls.QueryAsync(ToDotted(destination), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (answer is null)
                {
                    // No host (fail-static) or no answer: do not let every packet ask again; retry after a pause.
                    EngineRouteCache routes = attachment!.Routes;
                    _ = Task.Delay(UnansweredRetry, CancellationToken.None).ContinueWith(_ => routes.Complete(destination, null), TaskScheduler.Default);
                }
            }

            if (answer is null)
            {
                continue;
            }

            if (answer.Accessible && answer.Generation != attachment!.Generation)
            {
                // The daemon re-created the region: attach the new generation before using it.
                RequestReregister();
            }

            attachment!.Routes.Complete(destination, new EngineRoute(
                answer.Accessible && answer.Group == attachment.Group && answer.RegionName is not null,
                answer.Slot, answer.AskerSlot, answer.Accessible ? answer.Generation : attachment.Generation, answer.DirectoryVersion, answer.SuperPackets));
        }
    }

    private void OnDirectoryChanged(string group, ulong version)
    {
        if (_engine.TryGet(OverlayIds.GroupId(group), out EngineAttachment? attachment))
        {
            attachment!.Routes.Clear();
            AskForMembers(attachment);
        }
    }

    /// <summary>
    /// Asks where every other VM's member of the group is, before their first ring packet arrives: the receive
    /// worker believes only these answers about which slot may write as which address.
    /// </summary>
    private void AskForMembers(EngineAttachment attachment)
    {
        if (_state.Current is { } snapshot && snapshot.GroupsById.TryGetValue(attachment.GroupId, out GroupRuntime? group))
        {
            foreach (MemberRoute member in group.Members.Values)
            {
                if (!member.IsLocal)
                {
                    _engine.RequestRoute(attachment, member.Address);
                }
            }
        }
    }

    private static string ToDotted(uint address)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, address);
        return new IPAddress(bytes).ToString();
    }

    private static partial class Log
    {
        [LoggerMessage(50, LogLevel.Information, "engine: attaching group regions through {Where}")]
        public static partial void Starting(ILogger logger, string where);

        [LoggerMessage(51, LogLevel.Information, "engine of group {Group}: attached {Path}, slot {Slot}, generation {Generation}")]
        public static partial void Attached(ILogger logger, string group, string path, int slot, ulong generation);

        [LoggerMessage(52, LogLevel.Warning, "engine of group {Group}: not attached: {Reason}; sealed network path")]
        public static partial void AttachFailed(ILogger logger, string group, string reason);

        [LoggerMessage(53, LogLevel.Information, "engine of group {Group}: detached (no app registered)")]
        public static partial void Detached(ILogger logger, string group);

        [LoggerMessage(54, LogLevel.Warning, "engine: register {Address} refused: {Status}: {Error}")]
        public static partial void RegisterRefused(ILogger logger, string address, string status, string error);

        [LoggerMessage(55, LogLevel.Error, "engine: registration round failed ({Kind}: {Reason}); the sealed path carries the traffic, retrying")]
        public static partial void RoundFailed(ILogger logger, string kind, string reason);
    }
}
