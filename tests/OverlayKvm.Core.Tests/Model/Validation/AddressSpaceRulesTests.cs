using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Model.Validation;

public sealed class AddressSpaceRulesTests
{
    private const string Field = "group web: address space";

    [Theory]
    [InlineData("10.1.0.0/16", "10.1.0.0/16")]
    [InlineData("fd00:1::/64", "fd00:1::/64")]
    [InlineData("FD00:1:0::/48", "fd00:1::/48")]
    public void ParseSpace_Valid_Parsed(string text, string expected)
    {
        Assert.Equal(expected, AddressSpaceRules.ParseSpace(Field, text).ToString());
    }

    [Theory]
    [InlineData("", "is empty; expected CIDR notation such as 10.1.0.0/16")]
    [InlineData("10.1.0.0", "'10.1.0.0' has no prefix length; expected CIDR notation such as 10.1.0.0/16")]
    [InlineData("10.1.0.0/33", "'10.1.0.0/33': prefix length '33' is not a number from 0 to 32")]
    [InlineData("10.1.0.0/-1", "'10.1.0.0/-1': prefix length '-1' is not a number from 0 to 32")]
    [InlineData("10.1.0.0/ 16", "'10.1.0.0/ 16': prefix length ' 16' is not a number from 0 to 32")]
    [InlineData("10.1.0.0/16/8", "'10.1.0.0/16/8': prefix length '16/8' is not a number from 0 to 32")]
    [InlineData("fd00::/129", "'fd00::/129': prefix length '129' is not a number from 0 to 128")]
    [InlineData("10.1.0.5/16", "'10.1.0.5/16' has host bits set; did you mean 10.1.0.0/16?")]
    [InlineData("fd00::1/64", "'fd00::1/64' has host bits set; did you mean fd00::/64?")]
    [InlineData("web/16", "'web/16': 'web' is not an IPv4 or IPv6 address")]
    [InlineData("10.1.0/16", "'10.1.0/16': '10.1.0' is not an IPv4 or IPv6 address")]
    [InlineData("fe80::%eth0/64", "'fe80::%eth0/64': 'fe80::%eth0' is not an IPv4 or IPv6 address")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0 covers every address; a group needs a space of its own (e.g. 10.1.0.0/16)")]
    [InlineData("::/0", "::/0 covers every address; a group needs a space of its own (e.g. 10.1.0.0/16)")]
    [InlineData("10.1.0.0/31", "10.1.0.0/31 is too small for applications (longest allowed prefix is /30)")]
    [InlineData("fd00::/127", "fd00::/127 is too small for applications (longest allowed prefix is /126)")]
    public void ParseSpace_Malformed_RefusedWithClearMessage(string text, string expected)
    {
        var error = Assert.Throws<ModelValidationException>(() => AddressSpaceRules.ParseSpace(Field, text));

        Assert.Equal($"{Field}: {expected}", error.Message);
    }

    [Theory]
    [InlineData("10.1.0.1")]
    [InlineData("10.1.255.254")]
    [InlineData("fd00::ffff:ffff:ffff:ffff", "fd00::/64")]
    [InlineData("fd00::1", "fd00::/64")]
    public void CheckAppAddress_Usable_Accepted(string address, string space = "10.1.0.0/16")
    {
        AddressSpaceRules.CheckAppAddress("web/a", "web", IPNetwork.Parse(space), IPAddress.Parse(address));
    }

    [Theory]
    [InlineData("10.2.0.5", "10.1.0.0/16", "10.2.0.5 is outside group web's space 10.1.0.0/16")]
    [InlineData("10.1.0.0", "10.1.0.0/16", "10.1.0.0 is the network address of group web's space 10.1.0.0/16")]
    [InlineData("10.1.255.255", "10.1.0.0/16", "10.1.255.255 is the broadcast address of group web's space 10.1.0.0/16")]
    [InlineData("fd00::5", "10.1.0.0/16", "fd00::5 is outside group web's space 10.1.0.0/16")]
    [InlineData("10.1.0.5", "fd00::/64", "10.1.0.5 is outside group web's space fd00::/64")]
    [InlineData("fd00::", "fd00::/64", "fd00:: is the network address of group web's space fd00::/64")]
    public void CheckAppAddress_Unusable_RefusedNamingAppGroupAndSpace(string address, string space, string expected)
    {
        var error = Assert.Throws<ModelValidationException>(() =>
            AddressSpaceRules.CheckAppAddress("web/a", "web", IPNetwork.Parse(space), IPAddress.Parse(address)));

        Assert.Equal($"app web/a: address: {expected}", error.Message);
    }

    [Theory]
    [InlineData("10.1.0.0/16", "10.1.5.0/24", true)]
    [InlineData("10.1.5.0/24", "10.1.0.0/16", true)]
    [InlineData("10.1.0.0/16", "10.2.0.0/16", false)]
    [InlineData("10.0.0.0/8", "10.255.0.0/16", true)]
    [InlineData("10.1.0.0/16", "fd00::/64", false)]
    [InlineData("fd00::/8", "fd00::/64", true)]
    public void CheckNoOverlap_DetectsContainmentEitherWay(string existing, string candidate, bool overlaps)
    {
        var groups = new[] { new ApplicationGroup("a", IPNetwork.Parse(existing), ProtectionLevel.Sealed, 1) };

        var error = Record.Exception(() => AddressSpaceRules.CheckNoOverlap("b", IPNetwork.Parse(candidate), groups));

        if (overlaps)
        {
            var refused = Assert.IsType<ModelValidationException>(error);
            Assert.Equal($"group b: address space: {candidate} overlaps group a's space {existing}", refused.Message);
        }
        else
        {
            Assert.Null(error);
        }
    }

    [Theory]
    [InlineData("10.1.0.5", "10.1.0.5")]
    [InlineData("::ffff:10.1.0.5", "10.1.0.5")]
    [InlineData("FD00::0005", "fd00::5")]
    public void ParseAddress_CanonicalForm(string text, string expected)
    {
        Assert.Equal(expected, AddressSpaceRules.ParseAddress("app web/a: address", text).ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.1.0.256")]
    [InlineData("10.1.0.5/32")]
    [InlineData("fe80::1%2")]
    [InlineData("frontend")]
    [InlineData("10.1")]
    [InlineData("010.1.0.5")]
    [InlineData("0x0a.1.0.5")]
    [InlineData(" 10.1.0.5")]
    public void ParseAddress_Malformed_Refused(string text)
    {
        var error = Assert.Throws<ModelValidationException>(() => AddressSpaceRules.ParseAddress("app web/a: address", text));

        Assert.Equal("app web/a: address", error.Field);
    }
}
