using OverlayKvm.Core.Buffers;

namespace OverlayKvm.Core.Tests.Buffers;

public class PacketBufferPoolTests
{
    [Fact]
    public void TryRent_IsBounded_AndReturnedBuffersAreReused()
    {
        var pool = new PacketBufferPool(2048, 2);
        Assert.True(pool.TryRent(out byte[] a));
        Assert.True(pool.TryRent(out byte[] b));
        Assert.False(pool.TryRent(out _));
        Assert.Equal(2, pool.Outstanding);
        pool.Return(a);
        Assert.True(pool.TryRent(out byte[] c));
        Assert.Same(a, c);
        pool.Return(b);
        pool.Return(c);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Return_ForeignBuffer_Throws()
    {
        var pool = new PacketBufferPool(2048, 1);
        Assert.Throws<ArgumentException>(() => pool.Return(new byte[100]));
    }
}
