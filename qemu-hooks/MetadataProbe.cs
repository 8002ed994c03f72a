using System.Xml;

namespace OverlayKvm.QemuHook;

/// <summary>
/// Is this domain ours? True when its XML has an element in OverlayKvm's namespace directly under
/// /domain/metadata. A substring test first (the common "not ours" answer costs microseconds), then a
/// streaming read to be sure (our URI could appear in a description).
/// </summary>
internal static class MetadataProbe
{
    public const string NamespaceUri = "https://overlaykvm.org/xmlns/domain/1";

    private static readonly XmlReaderSettings Settings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreWhitespace = true,
    };

    public static bool IsOurs(string xml)
    {
        if (!xml.Contains(NamespaceUri, StringComparison.Ordinal))
        {
            return false;
        }
        try
        {
            using var reader = XmlReader.Create(new StringReader(xml), Settings);
            while (reader.Read())
            {
                // Depth 0: <domain>, 1: <metadata>, 2: our element.
                if (reader is { NodeType: XmlNodeType.Element, Depth: 2, NamespaceURI: NamespaceUri })
                {
                    return true;
                }
            }
            return false;
        }
        catch (XmlException)
        {
            // Our URI is in there but the document is unreadable: treat it as ours and let overlayd decide,
            // rather than letting a member start unchecked.
            return true;
        }
    }

    /// <summary>
    /// Whether the hook asks overlayd: our domains, and any domain that mentions "overlaykvm" (a region name, a
    /// channel path), so overlayd can refuse a foreign domain that names another domain's channel or a group's
    /// region (issue 14 items 1, 2).
    /// </summary>
    public static bool ShouldForward(string xml) =>
        xml.Contains(OverlayKvm.Core.Libvirt.DomainXmlLimit.ForwardMarker, StringComparison.Ordinal) || IsOurs(xml);
}
