using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Model.Validation;

public sealed class NameRulesTests
{
    [Theory]
    [InlineData("web")]
    [InlineData("a")]
    [InlineData("Vm-01.prod_eu")]
    [InlineData("0")]
    public void Check_LegalName_Accepted(string name)
    {
        NameRules.Check("group", name);
        Assert.True(NameRules.IsValid(name));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".hidden")]
    [InlineData("web\n")]
    [InlineData("a\r\n")]
    [InlineData("-flag")]
    [InlineData("_x")]
    [InlineData("a/b")]
    [InlineData("a b")]
    [InlineData("ümlaut")]
    [InlineData("semi;colon")]
    [InlineData("new\nline")]
    public void Check_IllegalName_RefusedNamingKind(string name)
    {
        var error = Assert.Throws<ModelValidationException>(() => NameRules.Check("domain", name));

        Assert.Equal("domain name", error.Field);
        Assert.Contains(NameRules.Pattern, error.Message);
        Assert.DoesNotContain("\n", error.Message);
    }

    [Fact]
    public void Check_LengthLimit_64Accepted65Refused()
    {
        NameRules.Check("app", new string('a', 64));

        Assert.Throws<ModelValidationException>(() => NameRules.Check("app", new string('a', 65)));
    }

    [Fact]
    public void Check_Null_Refused()
    {
        var error = Assert.Throws<ModelValidationException>(() => NameRules.Check("host", null));

        Assert.Contains("(null)", error.Message);
    }
}
