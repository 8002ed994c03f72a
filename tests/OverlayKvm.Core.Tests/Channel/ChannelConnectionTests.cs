using System.Text;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;

namespace OverlayKvm.Core.Tests.Channel;

public class ChannelConnectionTests
{
    private static ChannelConnection Over(byte[] bytes, int max = 1024) => new(new MemoryStream(bytes), max);

    [Fact]
    public async Task WriteThenRead_RoundTripsTypeAndPayload()
    {
        var stream = new MemoryStream();
        var writer = new ChannelConnection(stream);
        await writer.WriteAsync(ChannelMessageType.Heartbeat, ReadOnlyMemory<byte>.Empty, default);
        await writer.WriteAsync((ChannelMessageType)200, "xyz"u8.ToArray(), default);
        Assert.Equal(new byte[] { 0, 0, 0, 1, 5, 0, 0, 0, 4, 200, (byte)'x', (byte)'y', (byte)'z' }, stream.ToArray());

        var reader = Over(stream.ToArray());
        var first = await reader.ReadAsync(default);
        Assert.Equal(ChannelMessageType.Heartbeat, first!.Value.Type);
        Assert.Equal(0, first.Value.Payload.Length);
        var second = await reader.ReadAsync(default);
        Assert.Equal((ChannelMessageType)200, second!.Value.Type);
        Assert.Equal("xyz", Encoding.ASCII.GetString(second.Value.Payload.Span));
        Assert.Null(await reader.ReadAsync(default));
    }

    [Theory]
    [InlineData(new byte[] { 0, 0 })] // truncated length
    [InlineData(new byte[] { 0, 0, 0, 5, 2, 1 })] // truncated body
    [InlineData(new byte[] { 0, 0, 0, 0 })] // zero length: no type byte
    [InlineData(new byte[] { 0, 0, 4, 1, 2 })] // 1025 > max 1024
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 2 })] // 4 GiB claim: must not allocate it
    public async Task ReadAsync_BrokenFraming_ThrowsProtocolException(byte[] bytes)
    {
        var ex = await Assert.ThrowsAsync<ChannelProtocolException>(async () => await Over(bytes).ReadAsync(default));
        Assert.Contains("host channel", ex.Message);
    }

    [Fact]
    public async Task WriteAsync_PayloadAboveLimit_Refused()
    {
        var c = new ChannelConnection(new MemoryStream(), 16);
        await Assert.ThrowsAsync<ChannelProtocolException>(async () => await c.WriteAsync(ChannelMessageType.Config, new byte[16], default));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("null")]
    [InlineData("{\"formatVersion\":1,\"domain\":\"vm\",\"version\":1,\"digest\":\"\",\"domainAddress\":null,\"host\":\"h\",\"apps\":null,\"groups\":[]}")]
    [InlineData("{\"formatVersion\":1}")]
    [InlineData("[1,2,3]")]
    public void TryParse_HostileDocument_ReturnsNullWithError(string json)
    {
        var doc = ChannelConnection.TryParse(Encoding.UTF8.GetBytes(json), ChannelJsonContext.Default.DomainConfigDocument, out string? error);
        Assert.Null(doc);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void TryParse_ValidDocument_RoundTrips()
    {
        var doc = new DomainConfigDocument(1, "vm1", 7, "", "10.0.0.1", "h", [new LocalAppConfig("web", "a", "10.1.0.1", 101, [new RouteEntry("10.1.0.0/16", "adapter", 100)], [])],
            [new GroupConfig("web", "10.1.0.0/16", "Sealed", [new MemberConfig("a", "10.1.0.1", "vm1", "10.0.0.1", "h")], [new CredentialConfig(1, [0, 0, 0], null)])]);
        byte[] json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(doc, ChannelJsonContext.Default.DomainConfigDocument);
        var back = ChannelConnection.TryParse(json, ChannelJsonContext.Default.DomainConfigDocument, out string? error);
        Assert.Null(error);
        Assert.Equal(7, back!.Version);
        Assert.Equal("10.1.0.1", back.Apps[0].Address);
        Assert.Equal("adapter", back.Apps[0].Routes[0].Gateway);
        Assert.Equal(1, back.Groups[0].Credentials[0].Epoch);
    }
}
