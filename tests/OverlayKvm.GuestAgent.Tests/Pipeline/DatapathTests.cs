using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;

namespace OverlayKvm.GuestAgent.Tests.Pipeline;

public class DatapathTests
{
    private static byte[] SendFromAToB(TwoAgents t, string source = "10.1.0.1", string destination = "10.1.0.2")
    {
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, source, destination);
        Assert.Null(t.SendA.Process(t.GroupId, buffer, n));
        return t.SenderA.LastFrame();
    }

    [Fact]
    public void ProtectionAuthenticated_PacketTravelsInClearWithATag_SwitchingBackSealsAgain_NothingDropped()
    {
        var t = new TwoAgents { Protection = "Authenticated" };
        t.Publish(2);
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2");
        byte[] original = buffer.AsSpan(SealedFrameHeader.Size, n).ToArray();

        Assert.Null(t.SendA.Process(t.GroupId, buffer, n));
        byte[] frame = t.SenderA.LastFrame();
        Assert.True(SealedFrameHeader.TryRead(frame, out var h));
        Assert.Equal(FrameType.AuthenticatedData, h.Type);
        Assert.Equal(original, frame.AsSpan(SealedFrameHeader.Size, n).ToArray());
        Assert.Null(t.ReceiveB.Process(frame, TwoAgents.VmAUnderlay));
        Assert.Equal(original, t.SinkB.Last.ToArray());

        // Tampering with the clear packet is caught by the tag.
        Assert.Null(t.SendA.Process(t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2")));
        byte[] tampered = t.SenderA.LastFrame();
        tampered[SealedFrameHeader.Size + 30] ^= 0xFF;
        Assert.Equal(DropReason.Auth, t.ReceiveB.Process(tampered, TwoAgents.VmAUnderlay));

        // R0.4: back to sealed by configuration only; a receiver still on the old version accepts the new frames.
        t.Protection = "Sealed";
        t.StateA.Publish(new OverlayKvm.GuestAgent.Config.SnapshotCompiler(t.CountersA, t.Time, 7480).Compile(t.Doc("vmA", 3), t.StateA.Current));
        Assert.Null(t.SendA.Process(t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2")));
        frame = t.SenderA.LastFrame();
        Assert.True(SealedFrameHeader.TryRead(frame, out h));
        Assert.Equal(FrameType.Data, h.Type);
        Assert.NotEqual(original, frame.AsSpan(SealedFrameHeader.Size, n).ToArray());
        Assert.Null(t.ReceiveB.Process(frame, TwoAgents.VmAUnderlay));
        Assert.Equal(original, t.SinkB.Last.ToArray());
    }

    [Fact]
    public void Send_ToOtherVm_SealsToThatVmsAddress_AndReceiverDeliversTheSamePacket()
    {
        var t = new TwoAgents();
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2");
        byte[] original = buffer.AsSpan(SealedFrameHeader.Size, n).ToArray();

        Assert.Null(t.SendA.Process(t.GroupId, buffer, n));
        Assert.Equal(1, t.SenderA.Count);
        Assert.Equal(n + SealedFrameHeader.Overhead, t.SenderA.LastLength);
        Assert.Equal(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(TwoAgents.VmBAddress), 7480).Serialize(), t.SenderA.LastDestination);
        byte[] frame = t.SenderA.LastFrame();
        Assert.True(SealedFrameHeader.TryRead(frame, out var h));
        Assert.Equal(1u, h.Epoch);

        Assert.Null(t.ReceiveB.Process(frame, TwoAgents.VmAUnderlay));
        Assert.Equal(original, t.SinkB.Last.ToArray());
        var counters = t.CountersB.ForGroup("web").Sealed;
        Assert.Equal(1, counters.PacketsIn);
        Assert.Equal(n, counters.BytesIn);
        Assert.Equal(n, t.CountersA.ForGroup("web").Sealed.BytesOut);
    }

    [Fact]
    public void Send_ToAppOnSameVm_WrittenBackToAdapterInClear_NothingSent()
    {
        var t = new TwoAgents();
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.3");
        Assert.Null(t.SendA.Process(t.GroupId, buffer, n));
        Assert.Equal(0, t.SenderA.Count);
        Assert.Equal(1, t.SinkA.Count);
        Assert.Equal(buffer.AsSpan(SealedFrameHeader.Size, n).ToArray(), t.SinkA.Last.ToArray());
        Assert.Equal(1, t.CountersA.ForGroup("web").Local.PacketsOut);
    }

    [Theory]
    [InlineData("10.1.0.2", "10.1.0.1", (int)DropReason.Spoof)] // source is vmB's app, not ours
    [InlineData("10.1.0.99", "10.1.0.2", (int)DropReason.Spoof)] // source is nobody
    [InlineData("10.1.0.1", "10.1.0.99", (int)DropReason.NoRoute)] // destination not a member
    public void Send_BadAddresses_DroppedWithReason(string source, string destination, int expectedReason)
    {
        var expected = (DropReason)expectedReason;
        var t = new TwoAgents();
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, source, destination);
        Assert.Equal(expected, t.SendA.Process(t.GroupId, buffer, n));
        Assert.Equal(1, t.CountersA.Drops(expected));
        Assert.Equal(0, t.SenderA.Count);
    }

    [Fact]
    public void Send_NotIpv4_Malformed()
    {
        var t = new TwoAgents();
        byte[] buffer = TwoAgents.NewBuffer();
        buffer[SealedFrameHeader.Size] = 0x60; // IPv6
        Assert.Equal(DropReason.Malformed, t.SendA.Process(t.GroupId, buffer, 40));
    }

    [Fact]
    public void Receive_Replay_SecondCopyDropped()
    {
        var t = new TwoAgents();
        byte[] frame = SendFromAToB(t);
        Assert.Null(t.ReceiveB.Process((byte[])frame.Clone(), TwoAgents.VmAUnderlay));
        Assert.Equal(DropReason.Replay, t.ReceiveB.Process((byte[])frame.Clone(), TwoAgents.VmAUnderlay));
        Assert.Equal(1, t.SinkB.Count);
    }

    [Fact]
    public void Receive_FromWrongOuterAddress_Spoof()
    {
        var t = new TwoAgents();
        byte[] frame = SendFromAToB(t);
        Assert.Equal(DropReason.Spoof, t.ReceiveB.Process(frame, 0xC0000263));
    }

    [Fact]
    public void Receive_FlippedCiphertext_AuthAndWindowUnchanged()
    {
        var t = new TwoAgents();
        byte[] frame = SendFromAToB(t);
        byte[] tampered = (byte[])frame.Clone();
        tampered[SealedFrameHeader.Size + 3] ^= 1;
        Assert.Equal(DropReason.Auth, t.ReceiveB.Process(tampered, TwoAgents.VmAUnderlay));
        // The forged copy did not consume the counter: the genuine frame still opens.
        Assert.Null(t.ReceiveB.Process(frame, TwoAgents.VmAUnderlay));
    }

    [Fact]
    public void Receive_InnerSourceOfAnotherVm_Spoof()
    {
        var t = new TwoAgents();
        // A member of vmA (holding the key) sends a packet claiming vmB's app as source: caught after opening.
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.2", "10.1.0.2");
        var key = t.StateA.Current!.GroupsById[t.GroupId].SendKey!;
        int len = key.Cipher.Seal(new SealedFrameHeader(FrameType.Data, t.GroupId, key.Epoch, t.StateA.Current.SenderIndex, key.Salt, key.Counter.Next()), buffer, n);
        Assert.Equal(DropReason.Spoof, t.ReceiveB.Process(buffer.AsSpan(0, len), TwoAgents.VmAUnderlay));
        Assert.Equal(0, t.SinkB.Count);
    }

    [Fact]
    public void Receive_NoAdapterRunning_NoRoute()
    {
        var t = new TwoAgents();
        t.AdaptersB.Remove(t.GroupId);
        Assert.Equal(DropReason.NoRoute, t.ReceiveB.Process(SendFromAToB(t), TwoAgents.VmAUnderlay));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 1, 1, 0, 0 })]
    [InlineData(new byte[] { 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 0, 1, 10, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    public void Receive_Junk_Malformed(byte[] datagram)
    {
        var t = new TwoAgents();
        Assert.Equal(DropReason.Malformed, t.ReceiveB.Process(datagram, TwoAgents.VmAUnderlay));
    }

    [Fact]
    public void Rotation_SenderSwitchesEpoch_OldEpochOpensUntilRetired()
    {
        var t = new TwoAgents();
        byte[] oldFrame = SendFromAToB(t);
        t.Keys[0] = (1, t.Keys[0].Key, t.Time.GetUtcNow() + TimeSpan.FromSeconds(10));
        t.Keys.Add((2, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), null));
        t.Publish(2);

        byte[] newFrame = SendFromAToB(t);
        Assert.True(SealedFrameHeader.TryRead(newFrame, out var h2));
        Assert.Equal(2u, h2.Epoch);
        Assert.True(SealedFrameHeader.TryRead(oldFrame, out var h1));
        Assert.True(h2.Counter > h1.Counter, "the send counter must keep rising across epochs");
        Assert.Null(t.ReceiveB.Process(newFrame, TwoAgents.VmAUnderlay));

        // Epoch 1 still opens during its grace period…
        Assert.Null(t.ReceiveB.Process((byte[])oldFrame.Clone(), TwoAgents.VmAUnderlay));
        // …and not after it (a fresh epoch-1 frame would be refused for its key, before the replay check).
        t.Time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(DropReason.NoKey, t.ReceiveB.Process(oldFrame, TwoAgents.VmAUnderlay));
    }

    [Fact]
    public void NewConfigurationVersion_KeepsReplayWindow()
    {
        var t = new TwoAgents();
        byte[] frame = SendFromAToB(t);
        Assert.Null(t.ReceiveB.Process((byte[])frame.Clone(), TwoAgents.VmAUnderlay));
        t.Publish(2);
        Assert.Equal(DropReason.Replay, t.ReceiveB.Process(frame, TwoAgents.VmAUnderlay));
    }

    [Fact]
    public void SendAndReceive_AllocateNothingPerPacket()
    {
        var t = new TwoAgents();
        Assert.Equal(0, t.AllocatedByRoundTrips(warmUp: 200, count: 2000));
        Assert.Equal(2200, t.SinkB.Count);
    }
}
