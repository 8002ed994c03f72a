using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Model;

public class CipherRulesTests
{
    [Theory]
    [InlineData(null, GroupCipher.ChaCha20Poly1305)]
    [InlineData("", GroupCipher.ChaCha20Poly1305)]
    [InlineData("chacha20-poly1305", GroupCipher.ChaCha20Poly1305)]
    [InlineData("AEGIS-256", GroupCipher.Aegis256)]
    public void Parse_KnownNames_DefaultIsChaCha(string? text, GroupCipher expected) =>
        Assert.Equal(expected, CipherRules.Parse("web", text));

    [Fact]
    public void Parse_UnknownName_RefusedNamingGroupFieldAndChoices()
    {
        var e = Assert.Throws<ModelValidationException>(() => CipherRules.Parse("web", "aes-256-gcm"));
        Assert.Equal("group web: cipher: 'aes-256-gcm' is not one of chacha20-poly1305, aegis-256", e.Message);
    }

    [Fact]
    public void Check_Aegis_WithoutAesNi_RefusedSayingWhy()
    {
        var e = Assert.Throws<ModelValidationException>(() => CipherRules.Check("web", GroupCipher.Aegis256, _ => false));
        Assert.Contains("group web: cipher: aegis-256 needs AES-NI, which this host's CPU lacks", e.Message);
        CipherRules.Check("web", GroupCipher.Aegis256, c => c == GroupCipher.Aegis256); // with AES-NI: accepted
    }

    [Fact]
    public void Check_UndefinedValue_Refused()
    {
        var e = Assert.Throws<ModelValidationException>(() => CipherRules.Check("web", (GroupCipher)7, _ => true));
        Assert.Contains("7 is not a known cipher", e.Message);
    }
}
