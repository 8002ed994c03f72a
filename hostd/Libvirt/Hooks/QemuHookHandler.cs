using System.Xml;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Libvirt;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Engine;
using OverlayKvm.HostDaemon.Placement;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// Decides on each qemu hook invocation. Only `prepare begin` and `migrate begin` (an incoming live migration, on the
/// destination) can be refused: for every domain, one that names another domain's channel or a region the store does
/// not give it (<see cref="DomainIsolationCheck"/>); for a domain carrying our metadata also an unknown group or app,
/// a missing OverlayKvm device, or (strict placement) the wrong host. An arriving domain carries no region (the
/// source detached it, and this host's is attached after arrival) and is placed here only once it started (the
/// lifecycle event), so that a failed migration leaves the store as it was. Everything else
/// is recorded and allowed. It never calls libvirt: libvirtd holds the domain's lock while the hook runs, so a
/// call back into libvirt for that domain would deadlock.
/// </summary>
internal sealed partial class QemuHookHandler(
    IOverlayStore store,
    PlacementPlanner planner,
    IOptionsMonitor<PlacementOptions> placement,
    HookJournal journal,
    TimeProvider time,
    ILogger<QemuHookHandler> logger,
    EngineRegistry? engine = null,
    DomainIsolationCheck? isolation = null)
{
    private static readonly XmlReaderSettings SafeXml = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        MaxCharactersInDocument = DomainXmlLimit.MaxXmlBytes,
    };

    private readonly DomainIsolationCheck _isolation = isolation ?? new DomainIsolationCheck(store, [new LibvirtOptions().AgentSocketDirectory]);

    /// <exception cref="ArgumentException">The request lacks domain or operation (a malformed call, answered 400).</exception>
    public HookResponse Evaluate(HookRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Domain) || string.IsNullOrWhiteSpace(request.Operation))
        {
            throw new ArgumentException("hook request: 'domain' and 'operation' are required");
        }
        string domain = request.Domain, operation = request.Operation, sub = request.SubOperation ?? "-";

        OverlayMetadata? metadata = null;
        XDocument? doc = null;
        string? refusal = null;
        if (request.Xml is { Length: > DomainXmlLimit.MaxXmlBytes })
        {
            refusal = $"domain '{domain}': its XML has {request.Xml.Length} characters, more than the {DomainXmlLimit.MaxXmlBytes} overlayd reads";
        }
        else if (!string.IsNullOrEmpty(request.Xml))
        {
            try
            {
                using var reader = XmlReader.Create(new StringReader(request.Xml), SafeXml);
                doc = XDocument.Load(reader);
                OverlayMetadata.TryRead(doc, out metadata);
            }
            catch (Exception ex) when (ex is XmlException or OverlayMetadataException)
            {
                // Unreadable but naming something of ours: refuse rather than let it run unchecked.
                if (request.Xml.Contains(DomainXmlLimit.ForwardMarker, StringComparison.Ordinal))
                {
                    refusal = $"domain '{domain}': cannot read its XML or OverlayKvm metadata: {ex.Message}";
                }
            }
        }

        bool ours = metadata is not null || refusal is not null;
        bool arriving = operation == "migrate";
        bool vetoable = (operation == "prepare" || arriving) && sub == "begin";
        if (vetoable && ours && refusal is null)
        {
            refusal = CheckPrepare(domain, doc!, metadata!, arriving);
        }
        if (vetoable && refusal is null && doc is not null)
        {
            // Every domain, ours or not: no other domain's channel, no region the store does not give it.
            refusal = _isolation.Check(domain, doc);
        }
        if (vetoable && !arriving && ours && refusal is null)
        {
            try
            {
                RecordPlacement(domain, doc!);
            }
            catch (Exception ex)
            {
                // Fail closed: a member we cannot account for would break placement and capacity.
                refusal = $"domain '{domain}': could not record its placement on '{planner.LocalHost}': {ex.Message}";
            }
        }
        bool allowed = !vetoable || refusal is null;
        ours |= refusal is not null;
        journal.Add(new HookRecord(domain, operation, sub, ours, allowed, allowed ? null : refusal, time.GetUtcNow()));
        if (!allowed)
        {
            Log.Refused(logger, domain, operation, refusal!);
            return new HookResponse(false, refusal);
        }
        if (vetoable && ours)
        {
            PrepareEngineRegions(domain);
        }
        Log.Allowed(logger, domain, operation, sub, ours);
        return new HookResponse(true, null);
    }

    // QEMU maps /dev/shm/NAME right after prepare: lay the regions out now (a first start on this host may come
    // before the store change that would make the channel supervisor do it). Not a veto: QEMU would create the
    // file itself and overlayd re-initialises it at the first registration.
    private void PrepareEngineRegions(string domain)
    {
        if (engine is null)
        {
            return;
        }
        foreach (string group in _isolation.GrantedGroups(domain))
        {
            try
            {
                engine.PrepareRegion(group);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                Log.RegionNotPrepared(logger, domain, group, ex.Message);
            }
        }
    }

    private string? CheckPrepare(string domain, XDocument doc, OverlayMetadata metadata, bool arriving)
    {
        if (metadata.Members.Count == 0)
        {
            return $"domain '{domain}': OverlayKvm metadata names no group (add <overlay:member group='…'/> or run overlayctl domain-attach)";
        }
        foreach (var member in metadata.Members)
        {
            if (store.GetGroup(member.Group) is null)
            {
                return $"domain '{domain}': group '{member.Group}' is not defined in overlayd (define it with overlayctl group-define, or fix the domain's metadata)";
            }
            if (member.App is not null && store.GetApplication(member.Group, member.App) is null)
            {
                return $"domain '{domain}': application '{member.Group}/{member.App}' is not defined in overlayd (define it with overlayctl app-define)";
            }
        }

        var devices = doc.Root?.Element("devices");
        var granted = _isolation.GrantedGroups(domain);
        foreach (string group in metadata.Groups)
        {
            if (!granted.Contains(group) || arriving)
            {
                // A member with no application in the group gets no region (issue 14 item 2); an arriving one gets
                // this host's after the migration (issue 15): nothing to require now.
                continue;
            }
            string shmem = DomainXmlInjector.ShmemName(group);
            if (devices is null || DomainXmlInjector.FindShmem(devices, shmem) is null)
            {
                return $"domain '{domain}': missing the ivshmem region '{shmem}' of group '{group}' (run overlayctl domain-attach {domain} --group {group})";
            }
        }
        if (devices is null || DomainXmlInjector.FindAgentChannel(devices) is null)
        {
            return $"domain '{domain}': missing the agent channel '{DomainXmlInjector.AgentChannelName}' (run overlayctl domain-attach {domain})";
        }
        if (placement.CurrentValue.Strict)
        {
            var decision = planner.Choose(domain, metadata.Groups);
            if (decision.Host != planner.LocalHost)
            {
                return decision.Host is null
                    ? $"domain '{domain}': strict placement: no host has room: {decision.Reason}"
                    : $"domain '{domain}': strict placement: it belongs on host '{decision.Host}', not '{planner.LocalHost}': {decision.Reason}";
            }
        }
        return null;
    }

    // A started member counts against this host's capacity from now on.
    private void RecordPlacement(string domain, XDocument doc)
    {
        Guid? uuid = Guid.TryParse((string?)doc.Root?.Element("uuid"), out var parsed) ? parsed : null;
        var existing = store.GetDomain(domain);
        store.UpsertDomain(domain, uuid ?? existing?.Uuid, planner.LocalHost, existing?.Address);
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "qemu hook: refused {Operation} of domain {Domain}: {Reason}")]
        public static partial void Refused(ILogger logger, string domain, string operation, string reason);

        [LoggerMessage(21, LogLevel.Debug, "qemu hook: {Operation} {SubOperation} of domain {Domain} (ours: {Ours}) allowed")]
        public static partial void Allowed(ILogger logger, string domain, string operation, string subOperation, bool ours);

        [LoggerMessage(22, LogLevel.Warning, "qemu hook: engine region of group {Group} for domain {Domain} not prepared: {Reason}")]
        public static partial void RegionNotPrepared(ILogger logger, string domain, string group, string reason);
    }
}
