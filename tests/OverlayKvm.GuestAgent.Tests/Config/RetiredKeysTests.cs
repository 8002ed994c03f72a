using System.Security.Cryptography;
using OverlayKvm.Core.Config;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;

namespace OverlayKvm.GuestAgent.Tests.Config;

/// <summary>
/// Issue 14 item 10, "dispose dropped cipher contexts": what a new configuration no longer holds — an epoch
/// rotated out, a peer that left — is disposed (OpenSSL contexts freed and cleansed, sender keys zeroed); what it
/// still uses is not.
/// </summary>
public sealed class RetiredKeysTests
{
    [Fact]
    public void Publish_EpochRotatedOut_ItsCiphersAndStreamsAreDisposed_TheNewEpochsAreNot()
    {
        var t = new TwoAgents();
        var state = new AgentState(keyRetireGrace: TimeSpan.Zero);
        var compiler = new SnapshotCompiler(new DatapathCounters(), t.Time, 7480);
        state.Publish(compiler.Compile(t.Doc("vmA", 1), state.Current));
        GroupRuntime v1 = state.Current!.GroupsByName["web"];
        SendKey oldSend = v1.SendKey!;
        var oldStreams = Assert.Single(v1.ReceiveKeys.Values).Streams;

        t.Keys.Clear();
        t.Keys.Add((2, RandomNumberGenerator.GetBytes(32), null));
        state.Publish(compiler.Compile(t.Doc("vmA", 2), state.Current));
        GroupRuntime v2 = state.Current!.GroupsByName["web"];

        Assert.Equal(2u, v2.SendKey!.Epoch);
        Assert.True(oldSend.Cipher.IsDisposed);
        Assert.True(oldSend.SharedCipher.IsDisposed);
        Assert.True(oldStreams.IsDisposed);
        Assert.False(v2.SendKey.Cipher.IsDisposed);
        Assert.False(v2.SendKey.SharedCipher.IsDisposed);
        Assert.False(Assert.Single(v2.ReceiveKeys.Values).Streams.IsDisposed);
    }

    [Fact]
    public void Publish_NewDocument_TheReplacedDocumentsKeyBytesAreZeroed_BytesTheNewOneSharesAreNot()
    {
        var t = new TwoAgents();
        var state = new AgentState(keyRetireGrace: TimeSpan.Zero);
        var compiler = new SnapshotCompiler(new DatapathCounters(), t.Time, 7480);
        DomainConfigDocument first = t.Doc("vmA", 1);
        byte[] firstKey = first.Groups[0].Credentials[0].Key;
        state.Publish(compiler.Compile(first, state.Current));
        Assert.Contains(firstKey, b => b != 0);

        // A recompile of the same received document (what a directory lookup does) shares its credential objects.
        DomainConfigDocument second = t.Doc("vmA", 2);
        byte[] secondKey = second.Groups[0].Credentials[0].Key;
        state.Publish(compiler.Compile(second, state.Current));
        state.Publish(compiler.Compile(second with { Version = 3 }, state.Current));

        Assert.All(firstKey, b => Assert.Equal(0, b));
        Assert.Contains(secondKey, b => b != 0);
        Assert.False(state.Current!.GroupsByName["web"].SendKey!.Cipher.IsDisposed);
    }

    [Fact]
    public void Publish_SameKeysNewVersion_DisposesNothing()
    {
        var t = new TwoAgents();
        var state = new AgentState(keyRetireGrace: TimeSpan.Zero);
        var compiler = new SnapshotCompiler(new DatapathCounters(), t.Time, 7480);
        state.Publish(compiler.Compile(t.Doc("vmA", 1), state.Current));
        GroupRuntime v1 = state.Current!.GroupsByName["web"];

        state.Publish(compiler.Compile(t.Doc("vmA", 2), state.Current));

        Assert.False(v1.SendKey!.Cipher.IsDisposed);
        Assert.False(Assert.Single(v1.ReceiveKeys.Values).Streams.IsDisposed);
    }

    [Fact]
    public void Publish_PeerLeft_ItsReceiveStreamsAreDisposed_OurSendKeyStays()
    {
        var t = new TwoAgents();
        var state = new AgentState(keyRetireGrace: TimeSpan.Zero);
        var compiler = new SnapshotCompiler(new DatapathCounters(), t.Time, 7480);
        state.Publish(compiler.Compile(t.Doc("vmA", 1), state.Current));
        GroupRuntime v1 = state.Current!.GroupsByName["web"];
        var peerStreams = Assert.Single(v1.ReceiveKeys.Values).Streams;

        DomainConfigDocument withoutB = t.Doc("vmA", 2);
        GroupConfig web = withoutB.Groups[0];
        withoutB = withoutB with { Groups = [web with { Members = [.. web.Members.Where(m => m.Domain == "vmA")] }] };
        state.Publish(compiler.Compile(withoutB, state.Current));

        Assert.Empty(state.Current!.GroupsByName["web"].ReceiveKeys);
        Assert.True(peerStreams.IsDisposed);
        Assert.False(v1.SendKey!.Cipher.IsDisposed);
    }

    [Fact]
    public void Publish_WithAGrace_DoesNotDisposeAtOnce_APacketInFlightCanStillUseTheOldKey()
    {
        var t = new TwoAgents();
        var state = new AgentState(keyRetireGrace: TimeSpan.FromHours(1));
        var compiler = new SnapshotCompiler(new DatapathCounters(), t.Time, 7480);
        state.Publish(compiler.Compile(t.Doc("vmA", 1), state.Current));
        SendKey oldSend = state.Current!.GroupsByName["web"].SendKey!;
        t.Keys.Clear();
        t.Keys.Add((2, RandomNumberGenerator.GetBytes(32), null));

        state.Publish(compiler.Compile(t.Doc("vmA", 2), state.Current));

        Assert.False(oldSend.Cipher.IsDisposed);
        Assert.False(oldSend.SharedCipher.IsDisposed);
    }
}
