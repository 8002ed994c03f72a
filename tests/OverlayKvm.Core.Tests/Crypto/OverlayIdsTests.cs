using OverlayKvm.Core.Crypto;

namespace OverlayKvm.Core.Tests.Crypto;

public class OverlayIdsTests
{
    [Fact]
    public void GroupIdAndSenderIndex_AreStable_AndDomainSeparated()
    {
        Assert.Equal(OverlayIds.GroupId("web"), OverlayIds.GroupId("web"));
        Assert.NotEqual(OverlayIds.GroupId("web"), OverlayIds.GroupId("db"));
        Assert.NotEqual(OverlayIds.GroupId("vm1"), OverlayIds.SenderIndex("vm1"));
    }
}
