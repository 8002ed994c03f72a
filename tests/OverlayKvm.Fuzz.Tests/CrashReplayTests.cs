using System.Buffers.Binary;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.Fuzz.Tests;

/// <summary>One test per finding fixed (docs/fuzzing.md "Findings"), on the committed crash input.</summary>
public sealed class CrashReplayTests
{
    /// <summary>
    /// channel-agent: a configuration document without "policies", "groupParents" and "neighbors" (older overlayd, or
    /// hostile) made the agent's compiler throw NullReferenceException inside the channel handler; it now reads as
    /// empty lists and compiles.
    /// </summary>
    [Fact]
    public void ConfigDocument_WithoutOptionalLists_ReadsEmptyListsAndCompiles()
    {
        byte[] frame = File.ReadAllBytes(FuzzFiles.Crash("channel-agent", "config-without-optional-lists"));
        Assert.Equal((byte)ChannelMessageType.Config, frame[4]);
        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(frame);
        DomainConfigDocument? doc = ChannelConnection.TryParse(frame.AsMemory(5, length - 1), ChannelJsonContext.Default.DomainConfigDocument, out string? error);

        Assert.True(doc is not null, error);
        Assert.Empty(doc.Policies);
        Assert.Empty(doc.GroupParents);
        Assert.Empty(doc.Neighbors);
        AgentSnapshot snapshot = new SnapshotCompiler(new DatapathCounters(), TimeProvider.System, 7480).Compile(doc, null);
        Assert.Equal(doc.Version, snapshot.Version);
    }

    [Fact]
    public void ConfigDocument_ExplicitNullList_StillRefused()
    {
        ChannelConnection.TryParse("""{"formatVersion":1,"domain":"d","version":1,"digest":"","domainAddress":null,"host":"h","apps":[],"groups":[],"neighbors":null}"""u8.ToArray(),
            ChannelJsonContext.Default.DomainConfigDocument, out string? error);

        Assert.NotNull(error);
    }
}
