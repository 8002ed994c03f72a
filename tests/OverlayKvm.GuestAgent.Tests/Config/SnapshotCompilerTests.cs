using OverlayKvm.Core.Config;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;
using OverlayKvm.TestSupport;

namespace OverlayKvm.GuestAgent.Tests.Config;

public class SnapshotCompilerTests
{
    private static SnapshotCompiler Compiler() => new(new DatapathCounters(), TestClock.Create(), 7480);

    [Fact]
    public void Compile_ValidDocument_BuildsMembersPeersAndKeys()
    {
        var t = new TwoAgents();
        AgentSnapshot s = Compiler().Compile(t.Doc("vmA", 1), null);
        GroupRuntime g = s.GroupsByName["web"];
        Assert.Equal(3, g.Members.Count);
        Assert.True(g.Members[0x0A010001].IsLocal);
        Assert.False(g.Members[0x0A010002].IsLocal);
        var peer = Assert.Single(g.Peers.Values);
        Assert.Equal("vmB", peer.Domain);
        Assert.Equal(TwoAgents.VmBUnderlay, peer.UnderlayAddress);
        Assert.Equal(1u, g.SendKey!.Epoch);
        Assert.Single(g.ReceiveKeys);
        Assert.Equal(2, g.LocalApps.Count);
    }

    [Fact]
    public void Compile_BadDocument_ListsEveryProblemWithItsPath()
    {
        var t = new TwoAgents();
        DomainConfigDocument good = t.Doc("vmA", 1);
        GroupConfig g = good.Groups[0];
        var bad = good with
        {
            Apps = [good.Apps[0] with { Address = "not-an-ip" }, good.Apps[1] with { Group = "nope" }, good.Apps[0] with { RouteTable = 254 }],
            Groups = [g with
            {
                Members = [g.Members[0], g.Members[1] with { Address = "10.1.0.1" }, g.Members[2] with { DomainAddress = null }],
                Credentials = [new CredentialConfig(1, [], null), new CredentialConfig(2, new byte[5], null)],
            }],
        };
        var ex = Assert.Throws<ConfigCompileException>(() => Compiler().Compile(bad, null));
        string all = string.Join("\n", ex.Errors);
        Assert.Contains("groups[0].members[1].address: 10.1.0.1 is used by two members", all);
        Assert.Contains("groups[0].members[2].domainAddress", all);
        Assert.Contains("groups[0].credentials[0].key", all);
        Assert.Contains("groups[0].credentials[1].key: epoch 2 must carry a 32-byte key (got 5 bytes", all);
        Assert.Contains("apps[0].address: 'not-an-ip'", all);
        Assert.Contains("apps[1].group", all);
        Assert.Contains("apps[2].routeTable: 254", all);
    }

    [Fact]
    public void Compile_UnsupportedFormat_Refused()
    {
        var t = new TwoAgents();
        var ex = Assert.Throws<ConfigCompileException>(() => Compiler().Compile(t.Doc("vmA", 1) with { FormatVersion = 99 }, null));
        Assert.Contains("formatVersion: 99", ex.Message);
        Assert.Contains("upgrade the agent", ex.Message);
    }

    [Fact]
    public void Compile_Format1_RefusedNamingTheOlderOverlayd()
    {
        var t = new TwoAgents();
        var ex = Assert.Throws<ConfigCompileException>(() => Compiler().Compile(t.Doc("vmA", 1) with { FormatVersion = 1 }, null));
        Assert.Equal("formatVersion: 1 is not supported (this agent reads 2 to 3; overlayd is older than this agent: upgrade overlayd)", Assert.Single(ex.Errors));
    }

    /// <summary>The agent carries out the directory's lists; one it has no plan for, or one that does not fit the member, is refused.</summary>
    [Fact]
    public void Compile_UnknownOrMisplacedActions_RefusedWithPath()
    {
        var t = new TwoAgents();
        DomainConfigDocument good = t.Doc("vmA", 1);
        GroupConfig g = good.Groups[0];
        var bad = good with
        {
            Groups = [g with
            {
                Members =
                [
                    g.Members[0] with { Actions = ["encapsulate"] },
                    g.Members[1] with { Actions = ["seal", "encapsulate"] },
                    g.Members[2] with { Actions = ["engine"], Fallback = [] },
                ],
            }],
        };
        var ex = Assert.Throws<ConfigCompileException>(() => Compiler().Compile(bad, null));
        string all = string.Join("\n", ex.Errors);
        Assert.Contains("groups[0].members[0].actions: [encapsulate] for a member on this VM", all);
        Assert.Contains("groups[0].members[1].actions: [seal, encapsulate] is not an action list this agent carries out", all);
        Assert.Contains("groups[0].members[2].fallback: [] is not a network action list", all);
    }

    [Fact]
    public void Compile_RoutesFromTheDocument_SameHostEngineWithSealedFallback()
    {
        var t = new TwoAgents();
        AgentSnapshot s = Compiler().Compile(t.Doc("vmA", 1), null);
        var b = s.GroupsByName["web"].Members[0x0A010002];
        Assert.Equal((RoutePlan.Engine, RoutePlan.Sealed), (b.Plan, b.Fallback));
        Assert.Equal(RoutePlan.Local, s.GroupsByName["web"].Members[0x0A010001].Plan);
        Assert.False(b.Peer!.AcceptsClear);
    }

    [Fact]
    public void Compile_RetiredNewestEpoch_SendsWithNewestLiveEpoch()
    {
        var t = new TwoAgents();
        t.Keys.Add((2, new byte[32], t.Time.GetUtcNow() - TimeSpan.FromSeconds(1)));
        var s = new SnapshotCompiler(new DatapathCounters(), t.Time, 7480).Compile(t.Doc("vmA", 1), null);
        Assert.Equal(1u, s.GroupsByName["web"].SendKey!.Epoch);
    }

    [Fact]
    public void Compile_SameKeysNewVersion_ReusesReplayWindowAndCounter()
    {
        var t = new TwoAgents();
        var compiler = Compiler();
        AgentSnapshot v1 = compiler.Compile(t.Doc("vmA", 1), null);
        AgentSnapshot v2 = compiler.Compile(t.Doc("vmA", 2), v1);
        var k1 = Assert.Single(v1.GroupsByName["web"].ReceiveKeys.Values);
        var k2 = Assert.Single(v2.GroupsByName["web"].ReceiveKeys.Values);
        Assert.Same(k1.Streams, k2.Streams);
        Assert.Same(v1.GroupsByName["web"].SendKey, v2.GroupsByName["web"].SendKey);
    }
}
