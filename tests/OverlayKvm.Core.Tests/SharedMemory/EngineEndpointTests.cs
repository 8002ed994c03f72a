using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.Core.Tests.SharedMemory;

public sealed class EngineEndpointTests : IDisposable
{
    private readonly TempRegion _temp = new(size: 2 << 20, slots: 3);

    [Fact]
    public void TwoVms_ExchangePackets_AndTheReceiverLearnsTheSendingSlot()
    {
        using EngineRegion vmA = _temp.AttachAgain();
        using EngineRegion vmB = _temp.AttachAgain();
        using var a = new EngineEndpoint(vmA, mySlot: 0);
        using var b = new EngineEndpoint(vmB, mySlot: 2);
        byte[] buffer = new byte[2000];

        Assert.Equal(EngineSendResult.Sent, a.TrySend(2, "hello from slot 0"u8));
        Assert.Equal(RingReadResult.Message, b.TryReceive(buffer, out int length, out int from));

        Assert.Equal(0, from);
        Assert.Equal("hello from slot 0"u8.ToArray(), buffer[..length]);
        Assert.Equal(RingReadResult.Empty, b.TryReceive(buffer, out _, out _));
    }

    [Fact]
    public void TrySend_WhileTheGroupsEngineIsDisabled_IsDisabled()
    {
        using var a = new EngineEndpoint(_temp.Region, mySlot: 0);
        _temp.Region.Control.SetEngineEnabled(false);

        Assert.Equal(EngineSendResult.Disabled, a.TrySend(1, [1]));
        _temp.Region.Control.SetEngineEnabled(true);
        Assert.Equal(EngineSendResult.Sent, a.TrySend(1, [1]));
    }

    [Fact]
    public void TrySend_ToItselfOrAMissingSlot_IsNoSuchSlot()
    {
        using var a = new EngineEndpoint(_temp.Region, mySlot: 1);

        Assert.Equal(EngineSendResult.NoSuchSlot, a.TrySend(1, [1]));
        Assert.Equal(EngineSendResult.NoSuchSlot, a.TrySend(3, [1]));
        Assert.Equal(EngineSendResult.NoSuchSlot, a.TrySend(-1, [1]));
    }

    [Fact]
    public void TryReceive_ServesPeersRoundRobin()
    {
        using var a = new EngineEndpoint(_temp.Region, mySlot: 0);
        using EngineRegion vmC = _temp.AttachAgain();
        using EngineRegion vmB = _temp.AttachAgain();
        using var c = new EngineEndpoint(vmC, mySlot: 2);
        using var b = new EngineEndpoint(vmB, mySlot: 1);
        for (int i = 0; i < 3; i++)
        {
            a.TrySend(1, [0]);
            c.TrySend(1, [2]);
        }

        var order = new List<int>();
        byte[] buffer = new byte[8];
        while (b.TryReceive(buffer, out _, out int from) == RingReadResult.Message)
        {
            order.Add(from);
        }

        Assert.Equal([0, 2, 0, 2, 0, 2], order);
    }

    [Fact]
    public void Attach_WithDamagedIdentity_IsIdentityInvalid_UntilTheOwnerRewritesIt()
    {
        _temp.Bytes(130, 1)[0] ^= 0x20;
        using var mapping = SharedMemoryMapping.Open(_temp.Path);

        Assert.Equal(RegionHeaderStatus.IdentityInvalid, EngineRegion.TryAttach(mapping, out _));
        Assert.Equal(RegionHeaderStatus.IdentityInvalid, _temp.Region.CheckHeader());
        _temp.Region.RewriteHeader();
        Assert.Equal(RegionHeaderStatus.Valid, _temp.Region.CheckHeader());
        Assert.Equal("test", _temp.Region.Group);
    }

    public void Dispose() => _temp.Dispose();
}

public sealed class EngineRegionLifetimeTests
{
    [Fact]
    public void ViewsOfADisposedRegion_ThrowObjectDisposed_InsteadOfTouchingUnmappedMemory()
    {
        var temp = new TempRegion();
        EngineRegion region = temp.Region;
        RingProducer producer = region.OpenProducer(0, 1);
        temp.Dispose();

        Assert.Throws<ObjectDisposedException>(() => region.Control.IsEngineEnabled);
        Assert.Throws<ObjectDisposedException>(() => region.Slots.TryRead(0, out _));
        Assert.Throws<ObjectDisposedException>(() => region.CheckHeader());
        // The ring still holds its lease: the memory stays mapped until the ring is disposed too.
        Assert.Equal(RingWriteResult.Written, producer.TryWrite([1]));
        producer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => producer.TryWrite([1]));
    }
}
