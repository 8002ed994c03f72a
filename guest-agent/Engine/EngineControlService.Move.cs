using Microsoft.Extensions.Logging;

namespace OverlayKvm.GuestAgent.Engine;

/// <summary>
/// Leaving and joining the engine around a live migration (docs/migration.md). The host unplugs the ivshmem
/// devices before libvirt migrates the VM, and a BAR still mapped when its device goes gives SIGBUS on the next
/// access, so the host first asks the agent to leave: every attachment is removed (senders take the sealed path at
/// once), the call returns once the retired mappings are unmapped, and until the host says join no round registers
/// or maps anything. The destination's overlayd says join after it plugged its own regions in; the next round then
/// registers and attaches the new BAR (the device locator scans PCI afresh on every open).
/// </summary>
internal sealed partial class EngineControlService
{
    private readonly Lock _attachLock = new();
    private volatile bool _left;

    /// <summary>True between a leave and the next join: nothing is mapped and nothing will be.</summary>
    public bool HasLeft => _left;

    public async Task<int> LeaveAsync()
    {
        Task<int> detaching;
        lock (_attachLock)
        {
            _left = true;
            detaching = _engine.DetachAllAsync();
        }

        int unmapped = await detaching.ConfigureAwait(false);
        Log.Left(_logger, unmapped);
        return unmapped;
    }

    public void Join()
    {
        bool wasLeft;
        lock (_attachLock)
        {
            wasLeft = _left;
            _left = false;
        }

        Log.Joined(_logger, wasLeft);
        RequestReregister();
    }

    private static partial class Log
    {
        [LoggerMessage(56, LogLevel.Information, "engine: left at the host's request ({Count} region(s) unmapped); sealed network path until the host says join")]
        public static partial void Left(ILogger logger, int count);

        [LoggerMessage(57, LogLevel.Information, "engine: the host says its regions are plugged in (after a leave: {WasLeft}); registering")]
        public static partial void Joined(ILogger logger, bool wasLeft);
    }
}
