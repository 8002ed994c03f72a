using System.Xml.Linq;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>One membership a domain declares: it runs (an app of) a group.</summary>
/// <param name="App">The application, when named; a domain may join a group before its apps are defined.</param>
public sealed record OverlayMembership(string Group, string? App);

/// <summary>
/// Our element inside a domain's &lt;metadata&gt;:
/// <code>&lt;overlay:domain xmlns:overlay="https://overlaykvm.org/xmlns/domain/1"&gt;
///   &lt;overlay:member group="web" app="frontend"/&gt;
/// &lt;/overlay:domain&gt;</code>
/// A domain without this element is not ours: it is never modified and never blocked.
/// </summary>
public sealed record OverlayMetadata(IReadOnlyList<OverlayMembership> Members)
{
    public const string NamespaceUri = "https://overlaykvm.org/xmlns/domain/1";
    public const string Prefix = "overlay";

    internal static readonly XNamespace Ns = NamespaceUri;
    internal static readonly XName RootName = Ns + "domain";
    internal static readonly XName MemberName = Ns + "member";

    /// <summary>Distinct group names, ordinal order (deterministic device order).</summary>
    public IReadOnlyList<string> Groups
    {
        get
        {
            var set = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var m in Members)
            {
                set.Add(m.Group);
            }
            return [.. set];
        }
    }

    /// <summary>Finds our element under /domain/metadata. Returns false (not ours) when absent.</summary>
    /// <exception cref="OverlayMetadataException">Our element is present but malformed (names the field).</exception>
    public static bool TryRead(XDocument domainXml, out OverlayMetadata? metadata)
    {
        metadata = null;
        var element = domainXml.Root?.Element("metadata")?.Element(RootName);
        if (element is null)
        {
            return false;
        }
        metadata = FromElement(element, DomainNameOf(domainXml));
        return true;
    }

    /// <summary>Parses our element as libvirt's virDomainGetMetadata returns it.</summary>
    public static OverlayMetadata FromElement(XElement element, string domain)
    {
        if (element.Name != RootName)
        {
            throw new OverlayMetadataException(domain, "metadata", $"expected element {{{NamespaceUri}}}domain, found {element.Name}");
        }
        var members = new List<OverlayMembership>();
        int index = 0;
        foreach (var child in element.Elements(MemberName))
        {
            string? group = (string?)child.Attribute("group");
            string? app = (string?)child.Attribute("app");
            if (!OverlayNames.IsValid(group))
            {
                throw new OverlayMetadataException(domain, $"member[{index}].group", $"'{group}' is not a valid group name ({OverlayNames.Rule})");
            }
            if (app is not null && !OverlayNames.IsValid(app))
            {
                throw new OverlayMetadataException(domain, $"member[{index}].app", $"'{app}' is not a valid application name ({OverlayNames.Rule})");
            }
            members.Add(new OverlayMembership(group!, app));
            index++;
        }
        return new OverlayMetadata(members);
    }

    /// <summary>Our element, with the namespace declared on it (the form virDomainSetMetadata takes).</summary>
    public XElement ToElement()
    {
        var root = new XElement(RootName, new XAttribute(XNamespace.Xmlns + Prefix, NamespaceUri));
        foreach (var m in Members)
        {
            var member = new XElement(MemberName, new XAttribute("group", m.Group));
            if (m.App is not null)
            {
                member.Add(new XAttribute("app", m.App));
            }
            root.Add(member);
        }
        return root;
    }

    /// <summary>Adds a membership unless already present (idempotent).</summary>
    public OverlayMetadata With(OverlayMembership membership)
    {
        foreach (var m in Members)
        {
            if (m == membership)
            {
                return this;
            }
        }
        return new OverlayMetadata([.. Members, membership]);
    }

    internal static string DomainNameOf(XDocument domainXml) => (string?)domainXml.Root?.Element("name") ?? "<unnamed>";
}
