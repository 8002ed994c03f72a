using System.Security.Cryptography;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;

namespace OverlayKvm.GuestAgent.Tests.Pipeline;

/// <summary>
/// Issue 14 item 4: the send counter lives only in guest memory and the key epoch survives a snapshot revert or a
/// restored save, so a restored agent sealed with the same (key, nonce) pairs again. Two "boots" of vmA's agent
/// from one saved state — the same document, the same epoch, the very same counter values — must seal with
/// different keys, and vmB must follow the newer boot without accepting the older one's frames again.
/// </summary>
public sealed class RestoredAgentNonceTests
{
    [Fact]
    public void TwoBootsFromOneSavedState_SameEpochAndCounters_NoKeyNoncePairRepeats()
    {
        var t = new TwoAgents();
        DomainConfigDocument doc = t.Doc("vmA", 1);
        SendKey first = SendKeyOf(new SnapshotCompiler(new DatapathCounters(), t.Time, 7480).Compile(doc, null), t.GroupId);
        SendKey second = SendKeyOf(new SnapshotCompiler(new DatapathCounters(), t.Time, 7480).Compile(doc, null), t.GroupId);
        Assert.Equal(first.Epoch, second.Epoch);
        Assert.NotEqual(first.Salt, second.Salt);

        uint sender = OverlayIds.SenderIndex("vmA");
        byte[] senderKey = new byte[FrameKeySchedule.KeySize];
        FrameKeySchedule.DeriveSenderKey(t.Keys[0].Key, t.GroupId, first.Epoch, sender, senderKey);
        var pairs = new HashSet<string>();
        const ulong restoredCounter = 1_800_000_000_000_000_000;
        byte[] plaintext = new byte[64];
        for (ulong counter = restoredCounter; counter < restoredCounter + 100; counter++)
        {
            byte[] a = Seal(first, sender, counter, plaintext);
            byte[] b = Seal(second, sender, counter, plaintext);
            // Same plaintext, same counter: the ciphertexts differ, so the keystreams differ.
            Assert.False(a.AsSpan(SealedFrameHeader.Size).SequenceEqual(b.AsSpan(SealedFrameHeader.Size)), $"counter {counter}: identical ciphertext");
            Assert.True(pairs.Add(KeyNonce(senderKey, first.Salt, sender, counter)));
            Assert.True(pairs.Add(KeyNonce(senderKey, second.Salt, sender, counter)));
        }
        Assert.Equal(200, pairs.Count);
    }

    [Fact]
    public void ReceiverFollowsTheRestartedSendersNewStream_AndRefusesTheOldStreamsFramesAfterwards()
    {
        var t = new TwoAgents();
        byte[] beforeRestart = SendFromAToB(t);
        Assert.Null(t.ReceiveB.Process((byte[])beforeRestart.Clone(), TwoAgents.VmAUnderlay));
        byte[] recordedUnseen = SendFromAToB(t); // captured on the wire, never delivered

        // vmA's agent restarts (a new process draws a new salt); its first frames open at vmB at once.
        t.Time.Advance(TimeSpan.FromSeconds(1));
        t.StateA.Publish(new SnapshotCompiler(t.CountersA, t.Time, 7480).Compile(t.Doc("vmA", 1), null));
        byte[] afterRestart = SendFromAToB(t);
        Assert.True(SealedFrameHeader.TryRead(beforeRestart, out var h1));
        Assert.True(SealedFrameHeader.TryRead(afterRestart, out var h2));
        Assert.NotEqual(h1.Salt, h2.Salt);
        Assert.Null(t.ReceiveB.Process(afterRestart, TwoAgents.VmAUnderlay));

        // Issue 14 item 5: frames of the stream before the restart no longer replay, seen or not.
        Assert.Equal(DropReason.Replay, t.ReceiveB.Process(beforeRestart, TwoAgents.VmAUnderlay));
        Assert.Equal(DropReason.Replay, t.ReceiveB.Process(recordedUnseen, TwoAgents.VmAUnderlay));
        Assert.Equal(2, t.SinkB.Count);
    }

    // Issue 14 item 5: a fresh replay window accepted any counter, so after vmB's agent restarted, frames recorded
    // earlier in a live epoch were delivered again.
    [Fact]
    public void ReceiverRestarts_FramesRecordedBeforeOlderThanTheSkewAreRefused_NewFramesPass()
    {
        var t = new TwoAgents();
        byte[] recorded = SendFromAToB(t);
        Assert.Null(t.ReceiveB.Process((byte[])recorded.Clone(), TwoAgents.VmAUnderlay));

        t.Time.Advance(SenderStreams.DefaultMaxSkew + TimeSpan.FromSeconds(30)); // margin: the sender's counter also moved with real elapsed time
        t.StateB.Publish(new SnapshotCompiler(t.CountersB, t.Time, 7480).Compile(t.Doc("vmB", 1), null)); // vmB restarted: no state
        Assert.Equal(DropReason.Replay, t.ReceiveB.Process(recorded, TwoAgents.VmAUnderlay));

        // vmA's agent keeps running; its counter follows its clock, so its next frame is fresh and opens.
        t.StateA.Publish(new SnapshotCompiler(t.CountersA, t.Time, 7480).Compile(t.Doc("vmA", 1), null));
        Assert.Null(t.ReceiveB.Process(SendFromAToB(t), TwoAgents.VmAUnderlay));
        Assert.Equal(1 + 1, t.SinkB.Count);
    }

    private static byte[] SendFromAToB(TwoAgents t)
    {
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2");
        Assert.Null(t.SendA.Process(t.GroupId, buffer, n));
        return t.SenderA.LastFrame();
    }

    private static SendKey SendKeyOf(AgentSnapshot snapshot, uint groupId) => snapshot.GroupsById[groupId].SendKey!;

    private static byte[] Seal(SendKey key, uint sender, ulong counter, byte[] plaintext)
    {
        var frame = new byte[plaintext.Length + SealedFrameHeader.Overhead];
        plaintext.CopyTo(frame, SealedFrameHeader.Size);
        var header = new SealedFrameHeader(FrameType.Data, OverlayIds.GroupId("web"), key.Epoch, sender, key.Salt, counter);
        Assert.Equal(frame.Length, key.Cipher.Seal(header, frame, plaintext.Length));
        return frame;
    }

    /// <summary>The (stream key, nonce) pair a frame is sealed under, as text.</summary>
    private static string KeyNonce(byte[] senderKey, ulong salt, uint sender, ulong counter)
    {
        byte[] streamKey = new byte[FrameKeySchedule.KeySize];
        FrameKeySchedule.DeriveStreamKey(senderKey, salt, streamKey);
        return $"{Convert.ToHexString(SHA256.HashData(streamKey))}/{sender:x8}{counter:x16}";
    }
}
