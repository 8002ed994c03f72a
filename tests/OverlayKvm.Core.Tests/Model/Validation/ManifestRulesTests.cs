using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Model.Validation;

public sealed class ManifestRulesTests
{
    [Fact]
    public void Check_WellFormed_Accepted()
    {
        ManifestRules.Check("web/a", [new DataObject("/srv/a", "file:///a", new string('0', 64)), new DataObject("/srv/b", "https://x/b", null)]);
        ManifestRules.Check("web/a", []);
    }

    [Fact]
    public void Check_DuplicateName_RefusedWithIndex()
    {
        var error = Assert.Throws<ModelValidationException>(() =>
            ManifestRules.Check("web/a", [new DataObject("/srv/a", "file:///a", null), new DataObject("/srv/a", "file:///b", null)]));

        Assert.Equal("app web/a: manifest[1].name: '/srv/a' is listed twice", error.Message);
    }

    [Theory]
    [InlineData("", "file:///a", null, "app web/a: manifest[0].name: is empty")]
    [InlineData("/a", " ", null, "app web/a: manifest[0].source: is empty")]
    [InlineData("/a\u0007", "file:///a", null, "app web/a: manifest[0].name: contains a control character")]
    [InlineData("/a", "file:///a", "ABCDEF", "app web/a: manifest[0].sha256: must be 64 lower-case hex digits")]
    public void Check_BadObject_RefusedNamingField(string name, string source, string? sha, string expected)
    {
        var error = Assert.Throws<ModelValidationException>(() => ManifestRules.Check("web/a", [new DataObject(name, source, sha)]));

        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void Check_Null_Refused()
    {
        Assert.Throws<ModelValidationException>(() => ManifestRules.Check("web/a", null));
    }
}
