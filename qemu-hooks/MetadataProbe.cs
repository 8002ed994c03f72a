using OverlayKvm.Core.Libvirt;

namespace OverlayKvm.QemuHook;

/// <summary>
/// Does the hook ask overlayd about this domain? Yes when its XML mentions "overlaykvm" anywhere: our metadata
/// namespace (https://overlaykvm.org/xmlns/domain/1), a region name (overlaykvm-GROUP) or a channel path
/// (/run/overlaykvm/…), so overlayd also judges a foreign domain that names another domain's channel or a group's
/// region (issue 14 items 1, 2).
/// One forward-only byte scan of stdin as read, without decoding it or building any XML reader: every domain of
/// ours contains the marker (the namespace URI does), so nothing a parser could add changes the answer, and the
/// common "not ours" case costs a vectorised IndexOf (libvirt waits for the hook on every domain of the host).
/// </summary>
internal static class MetadataProbe
{
    /// <summary>UTF-8 never encodes an ASCII byte inside a multi-byte sequence, so a byte match is a text match.</summary>
    public static bool ShouldForward(ReadOnlySpan<byte> utf8Xml) => utf8Xml.IndexOf(DomainXmlLimit.ForwardMarkerUtf8) >= 0;
}
