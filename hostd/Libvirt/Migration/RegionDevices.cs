using System.Xml.Linq;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// The engine region devices (<c>&lt;shmem name='overlaykvm-GROUP'&gt;</c>) of a running domain, read from its live
/// XML, as libvirt takes them back for a hot-unplug and a hot-plug: without the alias libvirt gave them (a
/// user-supplied alias must start with "ua-"), and for a plug also without the PCI address (the guest gets a free slot).
/// </summary>
internal static class RegionDevices
{
    /// <summary>Our region devices in <paramref name="liveXml"/>, each ready for virDomainDetachDeviceFlags.</summary>
    public static List<XElement> InLiveXml(string liveXml)
    {
        var found = new List<XElement>();
        XElement? devices = XDocument.Parse(liveXml).Root?.Element("devices");
        if (devices is null)
        {
            return found;
        }
        foreach (XElement shmem in devices.Elements("shmem"))
        {
            if (((string?)shmem.Attribute("name"))?.StartsWith(DomainXmlInjector.ShmemPrefix, StringComparison.Ordinal) == true)
            {
                var copy = new XElement(shmem);
                copy.Element("alias")?.Remove();
                found.Add(copy);
            }
        }
        return found;
    }

    /// <summary>The device as a hot-plug takes it: no alias, no address.</summary>
    public static string ForPlug(XElement device)
    {
        var copy = new XElement(device);
        copy.Element("address")?.Remove();
        return copy.ToString(SaveOptions.DisableFormatting);
    }

    public static string NameOf(XElement device) => (string?)device.Attribute("name") ?? "";

    /// <summary>Names of our region devices still in the live definition.</summary>
    public static HashSet<string> Names(string liveXml)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (XElement device in InLiveXml(liveXml))
        {
            names.Add(NameOf(device));
        }
        return names;
    }
}
