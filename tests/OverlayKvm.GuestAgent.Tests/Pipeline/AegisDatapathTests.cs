using OverlayKvm.Core.Config;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;

namespace OverlayKvm.GuestAgent.Tests.Pipeline;

/// <summary>Issue 16: a group whose cipher is AEGIS-256 seals and opens with it; frames of the other cipher are dropped as `cipher`.</summary>
public class AegisDatapathTests
{
    public AegisDatapathTests()
    {
        Assert.True(GroupCiphers.HostSupports(GroupCipher.Aegis256), "prerequisite missing: this CPU has no AES-NI, which AEGIS-256 groups need");
    }

    /// <summary>Two agents whose group web uses AEGIS-256 (TwoAgents publishes version 1 with the default before the cipher is set).</summary>
    private static TwoAgents Aegis()
    {
        var t = new TwoAgents { Cipher = GroupCiphers.Aegis256Name };
        t.Publish(2);
        return t;
    }

    [Fact]
    public void Send_AegisGroup_FrameCarriesCipherAnd32ByteTag_ReceiverDeliversTheSamePacket()
    {
        var t = Aegis();
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2", payload: 1300);
        byte[] original = buffer.AsSpan(SealedFrameHeader.Size, n).ToArray();

        Assert.Null(t.SendA.Process(t.GroupId, buffer, n));
        Assert.Equal(n + 64, t.SenderA.LastLength);
        byte[] frame = t.SenderA.LastFrame();
        Assert.True(SealedFrameHeader.TryRead(frame, out var h));
        Assert.Equal(GroupCipher.Aegis256, h.Cipher);
        Assert.Equal(1, frame[2]);

        Assert.Null(t.ReceiveB.Process(frame, TwoAgents.VmAUnderlay));
        Assert.Equal(original, t.SinkB.Last.ToArray());
        Assert.Equal(n, t.CountersB.ForGroup("web").Sealed.BytesIn);
    }

    [Fact]
    public void Receive_AegisTagTampered_AuthCounted_GenuineStillOpens()
    {
        var t = Aegis();
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2");
        Assert.Null(t.SendA.Process(t.GroupId, buffer, n));
        byte[] frame = t.SenderA.LastFrame();
        byte[] tampered = (byte[])frame.Clone();
        tampered[^20] ^= 1; // inside the 32-byte tag, before the last 16 bytes
        long before = t.CountersB.Drops(DropReason.Auth);

        Assert.Equal(DropReason.Auth, t.ReceiveB.Process(tampered, TwoAgents.VmAUnderlay));
        Assert.Equal(before + 1, t.CountersB.Drops(DropReason.Auth));
        Assert.Null(t.ReceiveB.Process(frame, TwoAgents.VmAUnderlay));
    }

    [Theory]
    [InlineData(GroupCiphers.ChaCha20Poly1305Name, GroupCiphers.Aegis256Name)]
    [InlineData(GroupCiphers.Aegis256Name, GroupCiphers.ChaCha20Poly1305Name)]
    public void Receive_FrameOfTheOtherCipher_DroppedAsCipher_NothingDelivered(string senderCipher, string receiverCipher)
    {
        var t = new TwoAgents { Cipher = receiverCipher };
        t.Publish(2);
        t.Cipher = senderCipher;
        t.A.Publish(t.Doc("vmA", 3));
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2");
        Assert.Null(t.SendA.Process(t.GroupId, buffer, n));
        byte[] frame = t.SenderA.LastFrame();

        Assert.Equal(DropReason.Cipher, t.ReceiveB.Process(frame, TwoAgents.VmAUnderlay));
        Assert.Equal(1, t.CountersB.Drops(DropReason.Cipher));
        Assert.Equal(0, t.SinkB.Count);
        Assert.Equal("cipher", DropReasons.Name(DropReason.Cipher));
    }

    [Fact]
    public void SendAndReceive_Aegis_AllocateNothingPerPacket()
    {
        var t = Aegis();
        Assert.Equal(0, t.AllocatedByRoundTrips(warmUp: 200, count: 2000));
        Assert.Equal(2200, t.SinkB.Count);
    }

    [Fact]
    public void Compile_UnknownCipher_RefusedNamingTheGroup_NotReplacedByTheDefault()
    {
        var t = new TwoAgents { Cipher = "aes-512-future" };
        var doc = t.Doc("vmA", 2);
        var compiler = new SnapshotCompiler(new DatapathCounters(), OverlayKvm.TestSupport.TestClock.Create(), 7480);
        var ex = Assert.Throws<ConfigCompileException>(() => compiler.Compile(doc, null));
        Assert.Contains("groups[0].cipher: 'aes-512-future' is not a cipher this agent knows (chacha20-poly1305, aegis-256): upgrade the agent", ex.Errors);
    }

    [Fact]
    public void Document_WithAegisGroup_IsFormat3_WithChaChaOnlyFormat2()
    {
        Assert.Equal(3, Aegis().Doc("vmA", 1).FormatVersion);
        Assert.Equal(2, new TwoAgents().Doc("vmA", 1).FormatVersion);
        Assert.Equal(DomainConfigDocument.OldestFormat, new TwoAgents().Doc("vmA", 1).FormatVersion);
    }
}
