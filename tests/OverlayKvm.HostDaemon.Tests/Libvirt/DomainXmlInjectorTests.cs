using System.Xml.Linq;
using OverlayKvm.HostDaemon.Libvirt;

namespace OverlayKvm.HostDaemon.Tests.Libvirt;

/// <summary>Issue 5, Show 3 at the document level: equipped once, idempotent, foreign domains untouched.</summary>
public sealed class DomainXmlInjectorTests
{
    private static readonly InjectionSettings Settings = new("/run/overlaykvm", 4, VsockAvailable: false);

    private const string Member = """
        <overlay:domain xmlns:overlay='https://overlaykvm.org/xmlns/domain/1'>
          <overlay:member group='web' app='frontend'/>
          <overlay:member group='db'/>
          <overlay:member group='web' app='admin'/>
        </overlay:domain>
        """;

    [Fact]
    public void Inject_DomainWithMetadata_AddsRegionPerGroupAndAgentChannel()
    {
        var doc = XDocument.Parse(TestDomains.Xml("vm1", Member));

        var result = DomainXmlInjector.Inject(doc, Settings);

        Assert.NotNull(result);
        Assert.Equal(3, result.Added.Count);
        var devices = doc.Root!.Element("devices")!;
        string[] shmems = devices.Elements("shmem").Select(e => (string)e.Attribute("name")!).ToArray();
        Assert.Equal(["overlaykvm-db", "overlaykvm-web"], shmems);
        Assert.All(devices.Elements("shmem"), s =>
        {
            Assert.Equal("ivshmem-plain", (string?)s.Element("model")!.Attribute("type"));
            Assert.Equal("4", s.Element("size")!.Value);
            Assert.Equal("M", (string?)s.Element("size")!.Attribute("unit"));
        });
        var channel = Assert.Single(devices.Elements("channel"));
        Assert.Equal("/run/overlaykvm/vm1.agent.sock", (string?)channel.Element("source")!.Attribute("path"));
        Assert.Equal("bind", (string?)channel.Element("source")!.Attribute("mode"));
        Assert.Equal("org.overlaykvm.agent.0", (string?)channel.Element("target")!.Attribute("name"));
        Assert.Empty(devices.Elements("vsock"));
    }

    [Fact]
    public void Inject_Twice_SecondAddsNothingAndDocumentIsEqual()
    {
        var doc = XDocument.Parse(TestDomains.Xml("vm1", Member));
        DomainXmlInjector.Inject(doc, Settings with { VsockAvailable = true });
        string once = doc.ToString();

        var second = DomainXmlInjector.Inject(doc, Settings with { VsockAvailable = true });

        Assert.NotNull(second);
        Assert.False(second.Changed);
        Assert.Equal(4, second.Present.Count);
        Assert.Equal(once, doc.ToString());
    }

    [Fact]
    public void Inject_DomainWithoutMetadata_ReturnsNullAndLeavesDocumentIdentical()
    {
        string xml = TestDomains.Xml("plain", "<other:x xmlns:other='urn:example:other'/>");
        var doc = XDocument.Parse(xml);
        string before = doc.ToString();

        Assert.Null(DomainXmlInjector.Inject(doc, Settings));
        Assert.Equal(before, doc.ToString());
    }

    [Fact]
    public void Inject_VsockOnlyWhenHostHasIt()
    {
        var without = XDocument.Parse(TestDomains.Xml("vm1", Member));
        DomainXmlInjector.Inject(without, Settings);
        var with = XDocument.Parse(TestDomains.Xml("vm1", Member));
        DomainXmlInjector.Inject(with, Settings with { VsockAvailable = true });

        Assert.Empty(without.Root!.Element("devices")!.Elements("vsock"));
        var vsock = Assert.Single(with.Root!.Element("devices")!.Elements("vsock"));
        Assert.Equal("yes", (string?)vsock.Element("cid")!.Attribute("auto"));
    }

    [Fact]
    public void Inject_ExistingChannelWithOurTarget_IsNotDuplicated()
    {
        var doc = XDocument.Parse(TestDomains.Xml("vm1", Member));
        doc.Root!.Element("devices")!.Add(XElement.Parse(
            "<channel type='unix'><source mode='bind' path='/elsewhere/x.sock'/><target type='virtio' name='org.overlaykvm.agent.0'/></channel>"));

        var result = DomainXmlInjector.Inject(doc, Settings)!;

        Assert.Single(doc.Root!.Element("devices")!.Elements("channel"));
        Assert.Equal(2, result.Added.Count);
    }

    [Fact]
    public void Inject_DomainWithoutDevicesElement_CreatesIt()
    {
        var doc = XDocument.Parse($"<domain type='test'><name>bare</name><metadata>{Member}</metadata></domain>");
        var result = DomainXmlInjector.Inject(doc, Settings)!;
        Assert.True(result.Changed);
        Assert.Equal(2, doc.Root!.Element("devices")!.Elements("shmem").Count());
    }

    [Theory]
    [InlineData("<overlay:member xmlns:overlay='https://overlaykvm.org/xmlns/domain/1'/>", "member[0].group")]
    [InlineData("<overlay:member xmlns:overlay='https://overlaykvm.org/xmlns/domain/1' group='../etc'/>", "member[0].group")]
    [InlineData("<overlay:member xmlns:overlay='https://overlaykvm.org/xmlns/domain/1' group='ok' app='a b'/>", "member[0].app")]
    public void Inject_MalformedMetadata_ThrowsNamingTheField(string member, string field)
    {
        string metadata = $"<overlay:domain xmlns:overlay='https://overlaykvm.org/xmlns/domain/1'>{member}</overlay:domain>";
        var doc = XDocument.Parse(TestDomains.Xml("bad", metadata));
        var ex = Assert.Throws<OverlayMetadataException>(() => DomainXmlInjector.Inject(doc, Settings));
        Assert.Equal(field, ex.Field);
        Assert.Contains("domain 'bad'", ex.Message);
    }

    [Fact]
    public void Inject_SocketPathTooLong_Throws()
    {
        var doc = XDocument.Parse(TestDomains.Xml("vm1", Member));
        var ex = Assert.Throws<OverlayMetadataException>(() => DomainXmlInjector.Inject(doc, Settings with { AgentSocketDirectory = "/" + new string('d', 120) }));
        Assert.Equal("agent channel", ex.Field);
    }

    [Fact]
    public void Fragments_MatchXmlTemplates()
    {
        string dir = Path.Combine(RepoRoot(), "xml-templates");
        AssertSameShape(Path.Combine(dir, "ivshmem-region.xml"), DomainXmlInjector.IvshmemRegion("overlaykvm-GROUP", 0), "SIZE_MIB", "0");
        AssertSameShape(Path.Combine(dir, "agent-channel.xml"), DomainXmlInjector.AgentChannel("/run/overlaykvm/DOMAIN.agent.sock"));
        AssertSameShape(Path.Combine(dir, "vsock.xml"), DomainXmlInjector.Vsock());
        AssertSameShape(Path.Combine(dir, "anti-spoof-filterref.xml"), DomainXmlInjector.FilterRef("clean-traffic", "192.168.122.10"));
        var metadata = new OverlayMetadata([new OverlayMembership("GROUP", "APP")]).ToElement();
        AssertSameShape(Path.Combine(dir, "metadata.xml"), metadata);
    }

    [Fact]
    public void Interfaces_GetTheAntiSpoofFilterWithTheDomainsAddress_AnOperatorsFilterStays_Idempotent()
    {
        string xml = TestDomains.Xml("vm1", Member).Replace("<devices/>", """
            <devices>
              <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/></interface>
              <interface type='network'><mac address='52:54:00:00:00:02'/><source network='other'/><filterref filter='no-spoofing-mine'/></interface>
            </devices>
            """);
        var doc = XDocument.Parse(xml);
        var settings = Settings with { AntiSpoofFilter = "clean-traffic", DomainAddress = "192.168.122.10" };

        var result = DomainXmlInjector.Inject(doc, settings)!;

        Assert.Contains("filterref clean-traffic on 52:54:00:00:00:01 (IP 192.168.122.10)", result.Added);
        Assert.Contains("filterref no-spoofing-mine on 52:54:00:00:00:02", result.Present);
        var nics = doc.Root!.Element("devices")!.Elements("interface").ToArray();
        Assert.Equal("192.168.122.10", (string?)nics[0].Element("filterref")!.Element("parameter")!.Attribute("value"));
        Assert.Equal("no-spoofing-mine", (string?)Assert.Single(nics[1].Elements("filterref")).Attribute("filter"));
        string once = doc.ToString();
        Assert.False(DomainXmlInjector.Inject(doc, settings)!.Changed);
        Assert.Equal(once, doc.ToString());
    }

    [Fact]
    public void AntiSpoofFilterOff_InterfacesUntouched()
    {
        var doc = XDocument.Parse(TestDomains.Xml("vm1", Member).Replace("<devices/>", "<devices><interface type='network'><source network='default'/></interface></devices>"));
        DomainXmlInjector.Inject(doc, Settings with { AntiSpoofFilter = "" });
        Assert.Null(doc.Root!.Element("devices")!.Element("interface")!.Element("filterref"));
    }

    [Fact]
    public void SampleDomain_IsOursAndGetsEquipped()
    {
        var doc = XDocument.Load(Path.Combine(RepoRoot(), "xml-templates", "sample-domain.xml"));
        var result = DomainXmlInjector.Inject(doc, Settings)!;
        Assert.Equal(["shmem overlaykvm-web (4 MiB)", "channel org.overlaykvm.agent.0 -> /run/overlaykvm/overlay-sample.agent.sock"], result.Added);
    }

    private static void AssertSameShape(string templatePath, XElement rendered, string? placeholder = null, string? value = null)
    {
        string text = File.ReadAllText(templatePath);
        if (placeholder is not null)
        {
            text = text.Replace(placeholder, value);
        }
        var template = XElement.Parse(text);
        Assert.True(XNode.DeepEquals(Normalize(template), Normalize(rendered)), $"{templatePath} differs from the injector's output:\n{rendered}");
    }

    // Namespace declarations are attributes in LINQ to XML; compare elements and real attributes only.
    private static XElement Normalize(XElement e) =>
        new(e.Name,
            e.Attributes().Where(a => !a.IsNamespaceDeclaration).OrderBy(a => a.Name.ToString()).Select(a => new XAttribute(a.Name, a.Value)),
            e.Elements().Select(Normalize),
            e.HasElements ? null : e.Value);

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OverlayKvm.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"OverlayKvm.sln not found above {AppContext.BaseDirectory}");
    }
}
