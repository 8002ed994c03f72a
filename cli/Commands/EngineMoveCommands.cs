using System.CommandLine;
using System.Globalization;
using OverlayKvm.Core.Api;
using OverlayKvm.Cli.Client;

namespace OverlayKvm.Cli.Commands;

/// <summary>
/// overlayctl domain-engine-leave DOMAIN / domain-engine-join DOMAIN: the region steps of domain-migrate on their own,
/// for a migration done by hand with virsh (docs/migration.md): leave, then <c>virsh detach-device --live</c> is safe
/// for the guest; join after the regions are plugged in again.
/// </summary>
internal static class EngineMoveCommands
{
    public static IEnumerable<Command> Create(CliGlobals g)
    {
        var leaveDomain = new Argument<string>("DOMAIN") { Description = "domain on the host of the overlayd asked" };
        var leave = new Command("domain-engine-leave", "Have the domain's agent unmap its engine regions (before unplugging them); its slots are freed") { leaveDomain };
        leave.SetAction(g.Run(async (client, print, p, ct) =>
        {
            string name = p.GetRequiredValue(leaveDomain);
            EngineLeaveView reply = await client.PostAsync(ApiPaths.Domain(name, "engine-leave"), ApiJsonContext.Default.EngineLeaveView, ct);
            print.Reply(reply, ApiJsonContext.Default.EngineLeaveView, string.Create(CultureInfo.InvariantCulture,
                $"{reply.Domain}: agent left the engine in {reply.Seconds:0.###} s ({reply.RegionsUnmapped} region(s) unmapped, {reply.SlotsReleased} slot(s) freed); its regions may be unplugged now{Environment.NewLine}"));
        }));
        yield return leave;

        var joinDomain = new Argument<string>("DOMAIN") { Description = "domain on the host of the overlayd asked" };
        var join = new Command("domain-engine-join", "Tell the domain's agent that this host's engine regions are plugged in: attach again") { joinDomain };
        join.SetAction(g.Run(async (client, print, p, ct) =>
        {
            string name = p.GetRequiredValue(joinDomain);
            EngineJoinView reply = await client.PostAsync(ApiPaths.Domain(name, "engine-join"), ApiJsonContext.Default.EngineJoinView, ct);
            print.Reply(reply, ApiJsonContext.Default.EngineJoinView, $"{reply.Domain}: {(reply.Told ? "agent told to attach" : "agent not connected; it is told when it connects")}{Environment.NewLine}");
        }));
        yield return join;
    }
}
