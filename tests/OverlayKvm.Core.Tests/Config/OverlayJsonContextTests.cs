using System.Net;
using System.Text.Json;
using OverlayKvm.Core.Json;
using OverlayKvm.Core.Model;

namespace OverlayKvm.Core.Tests.Config;

public sealed class OverlayJsonContextTests
{
    [Fact]
    public void ModelRecords_SerializeCamelCaseWithTextAddresses()
    {
        var group = new ApplicationGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Authenticated, 3) { Number = 2 };
        var app = new Application("web", "a", IPAddress.Parse("10.1.0.1"), "vm1", [new DataObject("/x", "file:///x", null)], 4);

        var groupJson = JsonSerializer.Serialize(group, OverlayJsonContext.Default.ApplicationGroup);
        var appJson = JsonSerializer.Serialize(app, OverlayJsonContext.Default.Application);

        Assert.Equal("{\"name\":\"web\",\"addressSpace\":\"10.1.0.0/16\",\"protection\":\"Authenticated\",\"version\":3,\"number\":2,\"cipher\":\"ChaCha20Poly1305\"}", groupJson);
        Assert.Equal(
            "{\"group\":\"web\",\"name\":\"a\",\"address\":\"10.1.0.1\",\"domain\":\"vm1\",\"manifest\":[{\"name\":\"/x\",\"source\":\"file:///x\",\"sha256\":null}],\"version\":4}",
            appJson);
        Assert.Equal(group, JsonSerializer.Deserialize(groupJson, OverlayJsonContext.Default.ApplicationGroup));
    }

    [Theory]
    [InlineData("{\"name\":\"web\",\"addressSpace\":\"10.1.0.5/16\",\"protection\":\"Sealed\",\"version\":1}", "host bits set")]
    [InlineData("{\"name\":\"web\",\"addressSpace\":42,\"protection\":\"Sealed\",\"version\":1}", "expected a string in CIDR notation")]
    public void ApplicationGroup_BadSpace_JsonExceptionWithReason(string json, string reason)
    {
        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize(json, OverlayJsonContext.Default.ApplicationGroup));

        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Application_BadAddress_JsonException()
    {
        const string json = "{\"group\":\"web\",\"name\":\"a\",\"address\":\"10.1.0.999\",\"domain\":\"vm1\",\"manifest\":[],\"version\":4}";

        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize(json, OverlayJsonContext.Default.Application));

        Assert.Contains("'10.1.0.999' is not an IPv4 or IPv6 address", error.Message);
    }
}
