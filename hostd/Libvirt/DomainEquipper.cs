using System.Xml.Linq;
using Microsoft.Extensions.Options;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// Applies <see cref="DomainXmlInjector"/> to a domain's persistent definition through libvirt: read the
/// inactive XML, inject, redefine only when something was added (so the Defined event it causes is a no-op).
/// </summary>
internal sealed class DomainEquipper(IOptionsMonitor<LibvirtOptions> options, OverlayKvm.Core.Store.IOverlayStore? store = null,
    DomainIsolationCheck? isolation = null)
{
    public InjectionSettings CurrentSettings(string? domain = null)
    {
        var o = options.CurrentValue;
        return new InjectionSettings(o.AgentSocketDirectory, o.ShmemSizeMiB, File.Exists(o.VsockDevicePath))
        {
            AntiSpoofFilter = o.AntiSpoofFilter,
            DomainAddress = domain is null ? null : store?.GetDomain(domain)?.Address?.ToString(),
        };
    }

    /// <summary>Returns null for a domain without our metadata (left untouched).</summary>
    public InjectionResult? Equip(LibvirtConnection connection, string domainName)
    {
        using var domain = connection.LookupByName(domainName);
        return Equip(connection, domain, extraMembership: null);
    }

    /// <summary>
    /// Equips <paramref name="domain"/>; with <paramref name="extraMembership"/> the membership is first added to
    /// our metadata (creating it), which is how an operator attaches a domain that had none.
    /// </summary>
    public InjectionResult? Equip(LibvirtConnection connection, LibvirtDomain domain, OverlayMembership? extraMembership)
    {
        var doc = XDocument.Parse(domain.GetXml(inactive: true));
        bool metadataChanged = false;
        if (extraMembership is not null)
        {
            metadataChanged = AddMembership(doc, extraMembership);
        }
        var result = DomainXmlInjector.Inject(doc, CurrentSettings(OverlayMetadata.DomainNameOf(doc)));
        if (result is null)
        {
            return null;
        }
        if (extraMembership is not null && isolation?.Check(domain.Name, doc, alsoGranted: extraMembership.Group) is { } refusal)
        {
            // domain-attach must not equip (and so bless) a definition that names another domain's channel or a
            // region of a group it is not given (issue 14 items 1, 2): the same check as at prepare.
            throw new ArgumentException($"domain-attach {domain.Name}: {refusal}");
        }
        if (result.Changed || metadataChanged)
        {
            using var redefined = connection.Define(doc.ToString(SaveOptions.DisableFormatting));
        }
        if (!metadataChanged)
        {
            return result;
        }
        string member = $"metadata member group={extraMembership!.Group}" + (extraMembership.App is null ? "" : $" app={extraMembership.App}");
        return result with { Added = [member, .. result.Added] };
    }

    private static bool AddMembership(XDocument doc, OverlayMembership membership)
    {
        var root = doc.Root!;
        var metadataElement = root.Element("metadata");
        if (metadataElement is null)
        {
            metadataElement = new XElement("metadata");
            // libvirt's schema wants <metadata> near the top; after <name>/<uuid>/<title>/<description> is accepted.
            var anchor = root.Element("description") ?? root.Element("title") ?? root.Element("uuid") ?? root.Element("name");
            if (anchor is null)
            {
                root.AddFirst(metadataElement);
            }
            else
            {
                anchor.AddAfterSelf(metadataElement);
            }
        }
        var existing = metadataElement.Element(OverlayMetadata.RootName);
        var current = existing is null
            ? new OverlayMetadata([])
            : OverlayMetadata.FromElement(existing, OverlayMetadata.DomainNameOf(doc));
        var updated = current.With(membership);
        if (ReferenceEquals(updated, current))
        {
            return false;
        }
        existing?.Remove();
        metadataElement.Add(updated.ToElement());
        return true;
    }
}
