using OverlayKvm.Core.Api;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// overlayctl domain-attach: adds a membership to a domain's OverlayKvm metadata (creating it) and equips the
/// persistent definition. Idempotent: attaching again reports the devices as present and changes nothing.
/// </summary>
internal sealed class DomainAttachHandler(IOverlayStore store, LibvirtConnectionHolder holder, DomainEquipper equipper)
{
    /// <exception cref="ArgumentException">Bad group/app name.</exception>
    /// <exception cref="EntityNotFoundException">Unknown group or app in the store.</exception>
    /// <exception cref="LibvirtNotFoundException">No such domain in libvirt.</exception>
    /// <exception cref="LibvirtUnavailableException">overlayd is reconnecting to libvirt.</exception>
    public AttachResponse Attach(string domainName, AttachRequest request)
    {
        if (!OverlayNames.IsValid(request.Group))
        {
            throw new ArgumentException($"domain-attach {domainName}: group '{request.Group}' is not a valid group name ({OverlayNames.Rule})");
        }
        if (request.App is not null && !OverlayNames.IsValid(request.App))
        {
            throw new ArgumentException($"domain-attach {domainName}: app '{request.App}' is not a valid application name ({OverlayNames.Rule})");
        }
        if (store.GetGroup(request.Group!) is null)
        {
            throw new EntityNotFoundException("group", request.Group!);
        }
        if (request.App is not null)
        {
            var app = store.GetApplication(request.Group!, request.App) ?? throw new EntityNotFoundException("application", $"{request.Group}/{request.App}");
            if (app.Domain != domainName)
            {
                throw new ArgumentException($"domain-attach {domainName}: application '{request.Group}/{request.App}' is declared to run in domain '{app.Domain}', not '{domainName}'");
            }
        }
        var membership = new OverlayMembership(request.Group!, request.App);
        return holder.Use(connection =>
        {
            using var domain = connection.LookupByName(domainName);
            var result = equipper.Equip(connection, domain, membership)
                ?? throw new InvalidOperationException($"domain '{domainName}': metadata was added but not found again when equipping");
            return new AttachResponse(domainName, result.Changed, result.Added, result.Present, domain.IsActive);
        });
    }
}
