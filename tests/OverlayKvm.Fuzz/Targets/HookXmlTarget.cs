using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Fuzz.Fixtures;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Placement;
using MetadataProbe = OverlayKvm.QemuHook.MetadataProbe;

namespace OverlayKvm.Fuzz.Targets;

/// <summary>
/// A domain definer's XML as the qemu hook sees it (stdin): the hook's own probe (<c>MetadataProbe.ShouldForward</c>) and
/// overlayd's verdict on it (<c>QemuHookHandler.Evaluate</c> for <c>prepare begin</c>, with the real store, placement
/// planner and engine). Finding, besides any exception: overlayd treats the domain as an OverlayKvm member while the
/// hook's probe says it is not (the hook would then let the member start without asking overlayd). Nothing is a
/// rejection: unreadable XML is a verdict, not an exception.
/// </summary>
internal sealed class HookXmlTarget : FuzzTarget
{
    private readonly HostSide _host = new();
    private readonly QemuHookHandler _handler;
    private HookRecord? _last;

    public HookXmlTarget()
    {
        var placement = new FixedOptionsMonitor<PlacementOptions>(new PlacementOptions { HostName = "fz-host", LocalCapacity = 1000 });
        var journal = new HookJournal();
        journal.Received += record => _last = record;
        _handler = new QemuHookHandler(_host.Store, new PlacementPlanner(_host.Store, placement), placement, journal, _host.Time,
            NullLogger<QemuHookHandler>.Instance, _host.Engine);
    }

    public override string Name => "hook-xml";

    protected override void Execute(ReadOnlySpan<byte> input)
    {
        // The hook scans stdin's bytes, and decodes them the same way for overlayd (UTF-8, invalid sequences replaced).
        string xml = Encoding.UTF8.GetString(input);
        // The hook asks overlayd about our domains and about any that names something of ours (issue 14 items 1, 2).
        bool hookSaysOurs = MetadataProbe.ShouldForward(input);
        _last = null;
        HookResponse verdict = _handler.Evaluate(new HookRequest("fz-hook", "prepare", "begin", "-", xml));
        if (_last is null)
        {
            throw new InvalidOperationException("hook-xml: overlayd answered without journaling the call");
        }
        if (_last.Ours && !hookSaysOurs)
        {
            throw new InvalidOperationException(
                $"hook-xml: overlayd sees an OverlayKvm member (verdict allow={verdict.Allow}) but the hook's probe says 'not ours': the hook would skip overlayd");
        }
    }

    public override void Dispose() => _host.Dispose();
}
