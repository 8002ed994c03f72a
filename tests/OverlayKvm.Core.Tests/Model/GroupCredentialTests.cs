using OverlayKvm.Core.Model;

namespace OverlayKvm.Core.Tests.Model;

public sealed class GroupCredentialTests
{
    [Fact]
    public void ToString_KeyMaterial_IsRedacted()
    {
        var key = Enumerable.Range(0, 32).Select(i => (byte)(0xA0 + i)).ToArray();
        var credential = new GroupCredential("web", 3, key, DateTimeOffset.UnixEpoch, null);

        var text = credential.ToString();

        Assert.Contains("<redacted>", text);
        Assert.DoesNotContain(Convert.ToBase64String(key), text);
        Assert.DoesNotContain("System.Byte[]", text);
        Assert.Contains("Epoch = 3", text);
    }
}
