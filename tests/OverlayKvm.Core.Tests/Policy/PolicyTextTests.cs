using FsCheck;
using FsCheck.Fluent;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Policy;

/// <summary>The text forms operators type and the store keeps: every accepted form, every refusal, round trips.</summary>
public sealed class PolicyTextTests
{
    [Theory]
    [InlineData("any", "any")]
    [InlineData("G2", "group:G2")]
    [InlineData("group:G2", "group:G2")]
    [InlineData("not:G1", "not:group:G1")]
    [InlineData("!G1", "not:group:G1")]
    [InlineData("G2/web", "app:G2/web")]
    [InlineData("app:G2/web", "app:G2/web")]
    [InlineData("10.2.0.0/16", "cidr:10.2.0.0/16")]
    [InlineData("10.2.0.5", "cidr:10.2.0.5/32")]
    [InlineData("cidr:fd00::/64", "cidr:fd00::/64")]
    [InlineData("not:10.0.0.0/8", "not:cidr:10.0.0.0/8")]
    [InlineData("::ffff:10.2.0.5", "cidr:10.2.0.5/32")]
    [InlineData("group:10.1", "group:10.1")]
    public void ParseSender_AcceptedForms_Canonical(string text, string canonical)
    {
        var sender = PolicyText.ParseSender("from", text);
        Assert.Equal(canonical, PolicyText.FormatSender(sender));
        Assert.Equal(sender, PolicyText.ParseSender("again", canonical));
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("not:any", "excludes every sender")]
    [InlineData("10.2.0.1/16", "did you mean 10.2.0.0/16")]
    [InlineData("10.2.0.0/33", "prefix length")]
    [InlineData("bad name", "is not a sender")]
    [InlineData("G2/", "is not GROUP/APP")]
    [InlineData("app:G2", "is not GROUP/APP")]
    [InlineData("group:-x", "not a legal name")]
    [InlineData("10.1", "looks like an incomplete address")]
    [InlineData("2001", "looks like an incomplete address")]
    public void ParseSender_Malformed_RefusedNamingTheField(string text, string expected)
    {
        var e = Assert.Throws<ModelValidationException>(() => PolicyText.ParseSender("policy for G3: from[0]", text));
        Assert.StartsWith("policy for G3: from[0]", e.Field);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("80", 80, 80)]
    [InlineData("8000-8080", 8000, 8080)]
    [InlineData("65535", 65535, 65535)]
    public void PortRange_Parse_Accepts(string text, int first, int last) =>
        Assert.Equal(new PortRange((ushort)first, (ushort)last), PortRange.Parse("ports", text));

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("90-80")]
    [InlineData("-5")]
    [InlineData("80-")]
    [InlineData("http")]
    [InlineData(" ")]
    public void PortRange_Parse_Refuses(string text) =>
        Assert.Equal("ports", Assert.Throws<ModelValidationException>(() => PortRange.Parse("ports", text)).Field);

    [Fact]
    public void ParseSender_AnyText_ParsesOrRefusesCleanly_AndCanonicalRoundTrips() =>
        Prop.ForAll(ArbMap.Default.ArbFor<string>(), text =>
        {
            try
            {
                var sender = PolicyText.ParseSender("from", text);
                return PolicyText.ParseSender("again", PolicyText.FormatSender(sender)) == sender;
            }
            catch (ModelValidationException e)
            {
                return e.Field.StartsWith("from", StringComparison.Ordinal);
            }
        }).QuickCheckThrowOnFailure();

    [Fact]
    public void Describe_ReadsLikeTheIssue() =>
        Assert.Equal("G3 accepts tcp/80 from group:G2",
            PolicyText.Describe(new PolicyDefinition("G3", [PolicySender.OfGroup("G2")], PolicyProtocol.Tcp, new PortRange(80, 80), PolicyVerdict.Allow)));
}
