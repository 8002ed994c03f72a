using System.Text.Json;
using OverlayKvm.Core.Channel;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.EngineE2e;

/// <summary>
/// Issue 4, Show 2 at the channel level, against a real overlayd: the test plays vmB (group web) and vmC (group db)
/// on their host channels. The daemon answers with the domain it knows from the channel, never one the guest claims.
/// </summary>
public sealed class EngineHypercallChannelTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DomainOfAnotherGroup_QueryNotAccessible_NeverGivenTheGroupsRegion_HostileRequestsAnsweredAndCounted()
    {
        Prerequisites.RequireRootAndTools();
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        try
        {
            var ctl = new Overlayctl(daemon.Socket);
            await ctl.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");
            await ctl.OkAsync("group-define", "db", "--cidr", "10.2.0.0/16");
            await ctl.OkAsync("domain-define", "vmB", "--address", "10.96.0.2");
            await ctl.OkAsync("domain-define", "vmC", "--address", "10.96.0.3");
            await ctl.OkAsync("app-define", "web", "server", "--domain", "vmB", "--address", "10.1.0.2");
            await ctl.OkAsync("app-define", "db", "store", "--domain", "vmC", "--address", "10.2.0.1");

            await using var vmB = new PlayedAgent(Path.Combine(daemon.ChannelDir, "vmB.agent.sock"));
            await using var vmC = new PlayedAgent(Path.Combine(daemon.ChannelDir, "vmC.agent.sock"));
            await vmB.AcceptAsync();
            await vmC.AcceptAsync();

            EngineRegisterAnswer b = await vmB.RegisterAsync(1, "10.1.0.2");
            Assert.True(b.Ok, $"vmB could not register its own app: {b.Status} {b.Error}");
            Assert.Equal((1L, "web", "overlaykvm-web"), (b.Id, b.Group, b.RegionName));

            EngineRegisterAnswer c = await vmC.RegisterAsync(7, "10.2.0.1");
            Assert.True(c.Ok, $"vmC could not register its own app: {c.Status} {c.Error}");
            Assert.Equal((7L, "db", "overlaykvm-db"), (c.Id, c.Group, c.RegionName));

            // vmC asks about web's server: not accessible, and nothing about web is revealed.
            EngineQueryAnswer q = await vmC.QueryAsync(8, "10.1.0.2");
            output.WriteLine($"vmC query 10.1.0.2: {q}");
            Assert.Equal(8, q.Id);
            Assert.False(q.Accessible);
            Assert.Equal("NotGroupMember", q.Outcome);
            Assert.Null(q.Group);
            Assert.Null(q.RegionName);
            Assert.Equal(-1, q.Slot);

            // vmC claims web's address: the channel says it is vmC, so it is refused and never handed web's region.
            EngineRegisterAnswer claim = await vmC.RegisterAsync(9, "10.1.0.2");
            Assert.False(claim.Ok);
            Assert.Equal("NotOwnedByDomain", claim.Status);
            Assert.Null(claim.RegionName);

            // Hostile payloads: answered with "Invalid" (id kept when readable), counted, the channel stays up.
            var bad = await vmC.CallAsync(ChannelMessageType.Query, PlayedAgent.Request(10, "not-an-address"), ChannelJsonContext.Default.EngineQueryAnswer);
            Assert.Equal((10L, false, "Invalid"), (bad.Id, bad.Accessible, bad.Outcome));
            var garbage = await vmC.CallAsync(ChannelMessageType.Register, "{\"id\":"u8.ToArray(), ChannelJsonContext.Default.EngineRegisterAnswer);
            Assert.Equal((-1L, false, "Invalid"), (garbage.Id, garbage.Ok, garbage.Status));

            // The channel still serves after the garbage.
            EngineQueryAnswer again = await vmC.QueryAsync(11, "10.1.0.2");
            Assert.Equal((11L, false), (again.Id, again.Accessible));

            JsonElement channels = await ctl.JsonAsync("channel-list");
            output.WriteLine(channels.GetRawText());
            JsonElement c2 = channels.EnumerateArray().Single(x => x.GetProperty("domain").GetString() == "vmC");
            Assert.True(c2.GetProperty("rejectedMessages").GetInt64() >= 2, $"overlayd counted {c2.GetProperty("rejectedMessages")} rejected messages from vmC, expected the 2 malformed ones");

            // engine-stat: each address listed against its domain in its own group only.
            JsonElement stat = await ctl.JsonAsync("engine-stat");
            output.WriteLine(stat.GetRawText());
            JsonElement web = stat.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("group").GetString() == "web");
            Assert.DoesNotContain(web.GetProperty("slots").EnumerateArray(), s => s.GetProperty("domain").GetString() == "vmC");
        }
        catch
        {
            output.WriteLine(daemon.Log);
            throw;
        }
    }
}
