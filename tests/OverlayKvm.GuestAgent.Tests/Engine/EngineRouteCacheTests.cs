using OverlayKvm.GuestAgent.Engine;

namespace OverlayKvm.GuestAgent.Tests.Engine;

public sealed class EngineRouteCacheTests
{
    [Fact]
    public void TryGetCurrent_OnlyForTheSameDirectoryVersionAndGeneration()
    {
        var cache = new EngineRouteCache();
        cache.Complete(5, new EngineRoute(true, 1, 0, Generation: 9, DirectoryVersion: 3));
        Assert.True(cache.TryGetCurrent(5, 3, 9, out var route));
        Assert.Equal(1, route!.PeerSlot);
        Assert.False(cache.TryGetCurrent(5, 4, 9, out _));
        Assert.False(cache.TryGetCurrent(5, 3, 10, out _));
        Assert.False(cache.TryGetCurrent(6, 3, 9, out _));
    }

    [Fact]
    public void TryBeginQuery_OneOutstandingPerDestination_UntilCompleted()
    {
        var cache = new EngineRouteCache();
        Assert.True(cache.TryBeginQuery(5));
        Assert.False(cache.TryBeginQuery(5));
        Assert.True(cache.TryBeginQuery(6));
        cache.Complete(5, null); // host did not answer: may ask again, nothing cached
        Assert.Equal(0, cache.Count);
        Assert.True(cache.TryBeginQuery(5));
    }

    [Fact]
    public void Clear_DropsEveryAnswer()
    {
        var cache = new EngineRouteCache();
        cache.Complete(5, new EngineRoute(true, 1, 0, 9, 3));
        cache.Complete(6, new EngineRoute(false, -1, -1, 9, 3));
        cache.Clear();
        Assert.Equal(0, cache.Count);
        Assert.False(cache.TryGetCurrent(5, 3, 9, out _));
    }
}
