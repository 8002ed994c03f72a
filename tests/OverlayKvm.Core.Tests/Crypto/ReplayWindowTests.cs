using OverlayKvm.Core.Crypto;

namespace OverlayKvm.Core.Tests.Crypto;

public class ReplayWindowTests
{
    [Fact]
    public void Accept_SameCounterTwice_SecondIsRejected()
    {
        var w = new ReplayWindow();
        Assert.True(w.Accept(1000));
        Assert.False(w.IsAcceptable(1000));
        Assert.False(w.Accept(1000));
    }

    [Fact]
    public void Accept_OutOfOrderInsideWindow_IsAcceptedOnce()
    {
        var w = new ReplayWindow();
        Assert.True(w.Accept(5000));
        Assert.True(w.Accept(4000));
        Assert.False(w.Accept(4000));
        Assert.True(w.Accept(4999));
        Assert.Equal(5000UL, w.Highest);
    }

    [Fact]
    public void Accept_OlderThanWindow_IsRejected()
    {
        var w = new ReplayWindow();
        Assert.True(w.Accept(10_000));
        Assert.False(w.IsAcceptable(10_000 - ReplayWindow.WindowBits));
        Assert.True(w.IsAcceptable(10_000 - (ReplayWindow.WindowBits - 64) + 1));
    }

    [Fact]
    public void Accept_LargeJump_ClearsOldBits()
    {
        var w = new ReplayWindow();
        for (ulong c = 1; c <= 2000; c++)
        {
            Assert.True(w.Accept(c));
        }
        Assert.True(w.Accept(1_000_000));
        Assert.Equal(1, w.SeenInWindow());
        Assert.True(w.Accept(999_999));
        Assert.False(w.Accept(999_999));
    }

    [Fact]
    public void Accept_FirstCounterZero_Works()
    {
        var w = new ReplayWindow();
        Assert.True(w.Accept(0));
        Assert.False(w.Accept(0));
        Assert.True(w.Accept(1));
    }

    [Fact]
    public void Accept_RandomOrderStream_EachCounterAcceptedExactlyOnce()
    {
        var w = new ReplayWindow();
        var rng = new Random(1234);
        var accepted = new HashSet<ulong>();
        ulong top = 1_000_000;
        for (int i = 0; i < 50_000; i++)
        {
            top += (ulong)rng.Next(0, 3);
            ulong c = top - (ulong)rng.Next(0, 1500);
            bool ok = w.Accept(c);
            Assert.Equal(!accepted.Contains(c), ok);
            if (ok)
            {
                accepted.Add(c);
            }
        }
    }
}
