namespace OverlayKvm.Core.Libvirt;

/// <summary>
/// One size limit for a domain's XML, shared by the qemu hook (what it buffers from stdin) and overlayd (what it
/// parses, and the admin API's body limit for the hook's request), so nothing the hook accepts is refused by the
/// daemon as "request too large" (issue 14 item 10: the hook took 4 MiB, overlayd 1 MiB).
/// libvirt's domain XML is a few KiB; devices and metadata of a large domain stay well below this.
/// </summary>
public static class DomainXmlLimit
{
    /// <summary>Largest domain XML, in bytes of UTF-8 (and so at most as many characters).</summary>
    public const int MaxXmlBytes = 480 * 1024;

    /// <summary>
    /// Largest hook request body: the XML as a JSON string (the hook writes it with relaxed escaping, so at most
    /// two bytes per XML character: a quote or a line break) plus the envelope.
    /// </summary>
    public const int MaxHookRequestBytes = 2 * MaxXmlBytes + 64 * 1024;

    /// <summary>
    /// The substring the hook looks for to forward a domain to overlayd even without our metadata: every name
    /// overlayd gives a region (<c>overlaykvm-GROUP</c>), its channel directory (<c>/run/overlaykvm</c>) and the
    /// metadata namespace contain it, so a domain that is not ours but names our resources is checked too.
    /// </summary>
    public const string ForwardMarker = "overlaykvm";

    /// <summary><see cref="ForwardMarker"/> as UTF-8, for the hook's byte scan of stdin (no string decoding).</summary>
    public static ReadOnlySpan<byte> ForwardMarkerUtf8 => "overlaykvm"u8;
}
