using System.Buffers.Binary;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.DirectoryService;
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
        // The input predates format 2 (routes per member): given the routes overlayd now writes, it compiles.
        doc = MemberRouting.Apply(doc, PathClassifier.Standard);
        AgentSnapshot snapshot = new SnapshotCompiler(new DatapathCounters(), TimeProvider.System, 7480).Compile(doc, null);
        Assert.Equal(doc.Version, snapshot.Version);
    }

    /// <summary>
    /// channel-agent: a member whose underlay address ends in an octet of 128 or more (192.168.1.200 on a real LAN;
    /// the fuzzed input's "192.0.251" reads as 192.0.0.251) made the compiler build its endpoint from a byte-swapped int
    /// that came out negative: IPAddress(long) threw and the agent lost the whole document. The committed input is the
    /// afl script (several channel frames) replayed through the target; a document built here shows the same directly.
    /// </summary>
    [Fact]
    public void ConfigDocument_MemberUnderlayLastOctetOver127_Compiles()
    {
        using (FuzzTarget target = FuzzTargets.Create("channel-agent")!)
        {
            target.Run(File.ReadAllBytes(FuzzFiles.Crash("channel-agent", "config-underlay-last-octet-over-127")));
        }

        byte[] frame = File.ReadAllBytes(Path.Combine(FuzzFiles.FuzzProject, "Corpus", "channel-agent", "config-then-older"));
        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(frame);
        string json = System.Text.Encoding.UTF8.GetString(frame, 5, length - 1);
        Assert.Contains("\"domainAddress\":\"192.0.2.1\"", json);
        json = json.Replace("\"domainAddress\":\"192.0.2.1\"", "\"domainAddress\":\"192.168.1.200\"", StringComparison.Ordinal);
        DomainConfigDocument? doc = ChannelConnection.TryParse(System.Text.Encoding.UTF8.GetBytes(json), ChannelJsonContext.Default.DomainConfigDocument, out string? error);
        Assert.True(doc is not null, error);

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
