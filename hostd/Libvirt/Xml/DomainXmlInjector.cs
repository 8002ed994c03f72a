using System.Xml.Linq;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// Equips a domain definition that carries our metadata with the devices OverlayKvm needs: one ivshmem region
/// per group ("overlaykvm-GROUP"), the agent's virtio-serial channel (org.overlaykvm.agent.0, a unix socket per
/// domain), an anti-spoofing nwfilter on each network interface and, where the host has it, a vsock device. Works on the XML document, never on strings, and adds
/// only what is missing, so running it again changes nothing. Domains without our metadata are left untouched.
/// The shapes match xml-templates/*.xml (a unit test compares them).
/// </summary>
public static class DomainXmlInjector
{
    public const string AgentChannelName = "org.overlaykvm.agent.0";
    public const string ShmemPrefix = "overlaykvm-";

    /// <summary>Longest usable sun_path (108 bytes including the terminator).</summary>
    private const int MaxUnixSocketPath = 107;

    public static string ShmemName(string group) => ShmemPrefix + group;

    public static string AgentSocketPath(string directory, string domain) => Path.Combine(directory, domain + ".agent.sock");

    /// <summary>Modifies <paramref name="domainXml"/> in place. Returns null when the domain has no OverlayKvm metadata.</summary>
    /// <exception cref="OverlayMetadataException">Our metadata is malformed, or a derived path is unusable.</exception>
    public static InjectionResult? Inject(XDocument domainXml, InjectionSettings settings)
    {
        if (!OverlayMetadata.TryRead(domainXml, out var metadata))
        {
            return null;
        }
        string domain = OverlayMetadata.DomainNameOf(domainXml);
        var root = domainXml.Root!;
        var devices = root.Element("devices");
        if (devices is null)
        {
            devices = new XElement("devices");
            root.Add(devices);
        }

        var added = new List<string>();
        var present = new List<string>();
        foreach (string group in metadata!.Groups)
        {
            string name = ShmemName(group);
            string description = $"shmem {name} ({settings.ShmemSizeMiB} MiB)";
            if (FindShmem(devices, name) is not null)
            {
                present.Add(description);
                continue;
            }
            devices.Add(IvshmemRegion(name, settings.ShmemSizeMiB));
            added.Add(description);
        }

        string socket = AgentSocketPath(settings.AgentSocketDirectory, domain);
        if (System.Text.Encoding.UTF8.GetByteCount(socket) > MaxUnixSocketPath)
        {
            throw new OverlayMetadataException(domain, "agent channel", $"socket path '{socket}' is longer than {MaxUnixSocketPath} bytes");
        }
        string channelDescription = $"channel {AgentChannelName} -> {socket}";
        if (FindAgentChannel(devices) is not null)
        {
            present.Add(channelDescription);
        }
        else
        {
            devices.Add(AgentChannel(socket));
            added.Add(channelDescription);
        }

        if (!string.IsNullOrEmpty(settings.AntiSpoofFilter))
        {
            foreach (var nic in devices.Elements("interface"))
            {
                string mac = (string?)nic.Element("mac")?.Attribute("address") ?? (string?)nic.Element("target")?.Attribute("dev") ?? "(interface)";
                if (nic.Element("filterref") is { } existing)
                {
                    // An operator's own filter stays: we never weaken or replace what is there.
                    present.Add($"filterref {(string?)existing.Attribute("filter")} on {mac}");
                    continue;
                }
                nic.Add(FilterRef(settings.AntiSpoofFilter, settings.DomainAddress));
                added.Add($"filterref {settings.AntiSpoofFilter} on {mac}" + (settings.DomainAddress is null ? "" : $" (IP {settings.DomainAddress})"));
            }
        }

        if (settings.VsockAvailable)
        {
            if (devices.Element("vsock") is not null)
            {
                present.Add("vsock");
            }
            else
            {
                devices.Add(Vsock());
                added.Add("vsock (auto cid)");
            }
        }
        return new InjectionResult(domain, added, present);
    }

    internal static XElement? FindShmem(XElement devices, string name)
    {
        foreach (var shmem in devices.Elements("shmem"))
        {
            if ((string?)shmem.Attribute("name") == name)
            {
                return shmem;
            }
        }
        return null;
    }

    internal static XElement? FindAgentChannel(XElement devices)
    {
        foreach (var channel in devices.Elements("channel"))
        {
            var target = channel.Element("target");
            if ((string?)target?.Attribute("type") == "virtio" && (string?)target.Attribute("name") == AgentChannelName)
            {
                return channel;
            }
        }
        return null;
    }

    // Mirrors xml-templates/ivshmem-region.xml.
    internal static XElement IvshmemRegion(string name, int sizeMiB) =>
        new("shmem",
            new XAttribute("name", name),
            new XElement("model", new XAttribute("type", "ivshmem-plain")),
            new XElement("size", new XAttribute("unit", "M"), sizeMiB));

    // Mirrors xml-templates/agent-channel.xml.
    internal static XElement AgentChannel(string socketPath) =>
        new("channel",
            new XAttribute("type", "unix"),
            new XElement("source", new XAttribute("mode", "bind"), new XAttribute("path", socketPath)),
            new XElement("target", new XAttribute("type", "virtio"), new XAttribute("name", AgentChannelName)));

    // Mirrors xml-templates/anti-spoof-filterref.xml: libvirt's clean-traffic refuses frames whose MAC, IP or ARP
    // does not belong to the VM; IP pins the address (without it libvirt learns the first one the VM uses).
    internal static XElement FilterRef(string filter, string? ip)
    {
        var element = new XElement("filterref", new XAttribute("filter", filter));
        if (ip is not null)
        {
            element.Add(new XElement("parameter", new XAttribute("name", "IP"), new XAttribute("value", ip)));
        }
        return element;
    }

    // Mirrors xml-templates/vsock.xml.
    internal static XElement Vsock() =>
        new("vsock",
            new XAttribute("model", "virtio"),
            new XElement("cid", new XAttribute("auto", "yes")));
}
