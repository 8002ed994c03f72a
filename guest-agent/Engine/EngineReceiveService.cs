using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.GuestAgent.Engine;

/// <summary>
/// The engine receive worker: one dedicated thread polls the rings of every attached group (round-robin inside
/// each endpoint) and hands each packet to <see cref="EngineReceivePath"/>. While packets flow it polls
/// (<see cref="AdaptiveBackoff"/>: spin, then yield); once idle it sleeps on its slot's doorbell
/// (<see cref="EngineDoorbell"/>): a sender in the same kernel wakes it at once, one in another VM cannot (futex
/// does not cross kernels), so every sleep is bounded: <see cref="DoorbellWaitLimit"/> (1 ms) while traffic is
/// recent, <see cref="LongIdleDoorbellWaitLimit"/> (4 ms) after a second of silence. With several groups
/// attached it announces on every doorbell but can block on one only: a wake from another group's sender is
/// missed and costs at most that bound. Every <see cref="HeaderCheckInterval"/> it re-validates each region's header; a region that
/// fails (overwritten, re-created with a new generation) is detached so senders fall back to the sealed path,
/// and the control service is asked to register again (which re-attaches when the region is sound).
/// </summary>
internal sealed partial class EngineReceiveService : BackgroundService
{
    public static readonly TimeSpan HeaderCheckInterval = TimeSpan.FromMilliseconds(250);

    // Idle rounds spent spinning, then yielding, before sleeping on the doorbell. With a working futex: none.
    // Measured (bench/run.sh path, docs/engine-region.md): the former 64 spin + 64 yield rounds burned the CPU the
    // peer's threads needed on a busy 2-core host (1-byte TCP RR 433 us); 16 spin rounds: RR median ~95 us; none:
    // ~66 us (sealed path ~78 us in the same runs). sched_yield on a loaded run queue hands the rest of a time slice
    // to other processes. The doorbell wakes this thread within microseconds, so spinning buys nothing here.
    public const int IdleSpinRounds = 0;

    public const int IdleYieldRounds = 0;

    // Where the kernel refuses a futex on the region (a guest's ivshmem BAR: VM_PFNMAP → EFAULT) no wake can come,
    // only the bounded sleep: poll longer before sleeping, as version 1 did, so a busy stream is not paced by it.
    public const int NoFutexSpinRounds = 64;

    public const int NoFutexYieldRounds = 64;

    /// <summary>Longest doorbell sleep: the wake-up latency from a sender in another VM (docs/engine-region.md).</summary>
    public static readonly TimeSpan DoorbellWaitLimit = EngineDoorbell.DefaultWaitLimit;

    /// <summary>
    /// Longest doorbell sleep once nothing arrived for <see cref="LongIdleAfter"/>. Measured (bench/run.sh path):
    /// an idle receive thread costs ~1.2 % of a CPU with 1 ms sleeps, ~0.5 % with 4 ms; the price is up to 4 ms for
    /// the first packet from another VM after a long silence (same kernel: woken at once either way).
    /// </summary>
    public static readonly TimeSpan LongIdleDoorbellWaitLimit = TimeSpan.FromMilliseconds(4);

    /// <summary>Silence after which the receive thread sleeps with <see cref="LongIdleDoorbellWaitLimit"/>.</summary>
    public static readonly TimeSpan LongIdleAfter = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Longest doorbell sleep after <see cref="LongIdleAfter"/> of silence when every sender can wake this thread: the
    /// futex works on the region, at most one group is attached (with several, a wake on another group's doorbell
    /// would be missed) and no ring without a wake was ever seen (<see cref="EngineEndpoint.UnwakeableRingSeen"/>).
    /// Then the bound only paces the header check, and an idle agent wakes 4 times a second instead of 250 (issue
    /// 16: idle CPU; bench/run.sh idle). Between VMs (no futex) the 4 ms bound stays: it is their wake-up latency.
    /// </summary>
    public static readonly TimeSpan DeepIdleDoorbellWaitLimit = HeaderCheckInterval;

    private readonly EngineDatapath _engine;
    private readonly EngineReceivePath _receive;
    private readonly EngineControlService _control;
    private readonly ILogger<EngineReceiveService> _logger;

    public EngineReceiveService(EngineDatapath engine, EngineReceivePath receive, EngineControlService control, ILogger<EngineReceiveService> logger)
    {
        _engine = engine;
        _receive = receive;
        _control = control;
        _logger = logger;
    }

    private Thread? _thread;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _thread = new Thread(() => Run(stoppingToken)) { IsBackground = true, Name = "overlay-engine-rx" };
        _thread.Start();
        return Task.CompletedTask;
    }

    /// <summary>Waits for the worker to leave the rings, so the regions can be unmapped safely afterwards.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        _thread?.Join(TimeSpan.FromSeconds(2));
    }

    private void Run(CancellationToken stoppingToken)
    {
        // Grown (rarely: once per attachment with larger records) to the largest record a ring may carry, so a
        // record never stays stuck as "destination too small".
        // A record is at most a 64 KiB IP packet plus a virtio-net header (a super-packet from a sender with offloads).
        byte[] buffer = GC.AllocateUninitializedArray<byte>(65536 + Core.Wire.VirtioNetHeader.Size, pinned: true);
        var backoff = new AdaptiveBackoff(spinRounds: IdleSpinRounds, yieldRounds: IdleYieldRounds);
        var polling = new AdaptiveBackoff(spinRounds: NoFutexSpinRounds, yieldRounds: NoFutexYieldRounds);
        long nextHeaderCheck = Environment.TickCount64 + (long)HeaderCheckInterval.TotalMilliseconds;
        long lastWork = Environment.TickCount64;
        while (!stoppingToken.IsCancellationRequested)
        {
            bool worked = false;
            EngineAttachment[] attachments = _engine.Attachments;
            for (int i = 0; i < attachments.Length; i++)
            {
                EngineAttachment attachment = attachments[i];
                try
                {
                    if (attachment.Endpoint.MaxPacket > buffer.Length)
                    {
                        buffer = GC.AllocateUninitializedArray<byte>(attachment.Endpoint.MaxPacket, pinned: true);
                    }

                    int burst = 0;
                    for (; burst < 64; burst++)
                    {
                        RingReadResult result = attachment.Endpoint.TryReceive(buffer, out int length, out int fromSlot);
                        if (result == RingReadResult.Empty)
                        {
                            break;
                        }

                        worked = true;
                        if (result == RingReadResult.Message)
                        {
                            _receive.Process(attachment, fromSlot, buffer.AsSpan(0, length));
                        }
                        else
                        {
                            _engine.CountRingDrop();
                        }
                    }

                    _receive.Flush();
                    if (burst > 0)
                    {
                        // Room was made: wake a sender that sleeps on a full ring (once per burst, not per packet).
                        attachment.Endpoint.SignalRoom();
                    }
                }
                catch (ObjectDisposedException)
                {
                    // Retired under us (after its grace period): the next round reads the new table.
                }
            }

            if (Environment.TickCount64 >= nextHeaderCheck)
            {
                CheckHeaders(attachments);
                nextHeaderCheck = Environment.TickCount64 + (long)HeaderCheckInterval.TotalMilliseconds;
            }

            if (worked)
            {
                backoff.Reset();
                polling.Reset();
                lastWork = Environment.TickCount64;
            }
            else if (!(FutexUsable(attachments) ? backoff.TrySpinOrYield() : polling.TrySpinOrYield()))
            {
                bool longIdle = Environment.TickCount64 - lastWork > (long)LongIdleAfter.TotalMilliseconds;
                TimeSpan limit = !longIdle ? DoorbellWaitLimit
                    : EverySenderCanWake(attachments) ? DeepIdleDoorbellWaitLimit
                    : LongIdleDoorbellWaitLimit;
                SleepOnDoorbells(attachments, limit);
            }
        }
    }

    /// <summary>See <see cref="DeepIdleDoorbellWaitLimit"/>. With nothing attached there is nothing to wake for.</summary>
    private static bool EverySenderCanWake(EngineAttachment[] attachments)
    {
        try
        {
            return attachments.Length == 0
                || (attachments.Length == 1 && attachments[0].Endpoint.Doorbell.FutexUsable && !attachments[0].Endpoint.UnwakeableRingSeen);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    private static bool FutexUsable(EngineAttachment[] attachments)
    {
        try
        {
            return attachments.Length == 0 || attachments[0].Endpoint.Doorbell.FutexUsable;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>Idle: announce on every attachment's doorbell, re-check all rings, block on the first doorbell.</summary>
    private static void SleepOnDoorbells(EngineAttachment[] attachments, TimeSpan limit)
    {
        if (attachments.Length == 0)
        {
            Thread.Sleep(limit);
            return;
        }

        if (attachments.Length == 1)
        {
            try
            {
                attachments[0].Endpoint.WaitForData(limit);
            }
            catch (ObjectDisposedException)
            {
                // Retired under us: the next round reads the new table.
            }

            return;
        }

        int announced = 0;
        try
        {
            bool pending = false;
            for (; announced < attachments.Length; announced++)
            {
                attachments[announced].Endpoint.Doorbell.Announce();
            }

            for (int i = 0; i < attachments.Length && !pending; i++)
            {
                pending = attachments[i].Endpoint.HasPending;
            }

            EngineDoorbell doorbell = attachments[0].Endpoint.Doorbell;
            if (pending || (doorbell.Wait(limit) == DoorbellWaitResult.ValueChanged && attachments[0].Endpoint.HasPending))
            {
                doorbell.NoteDataFound();
            }
        }
        catch (ObjectDisposedException)
        {
            // Retired under us: the next round reads the new table.
        }
        finally
        {
            for (int i = 0; i < announced; i++)
            {
                try
                {
                    attachments[i].Endpoint.Doorbell.Withdraw();
                }
                catch (ObjectDisposedException)
                {
                    // Already retired: its word is gone with it.
                }
            }
        }
    }

    private void CheckHeaders(EngineAttachment[] attachments)
    {
        foreach (EngineAttachment attachment in attachments)
        {
            RegionHeaderStatus status;
            try
            {
                status = attachment.CheckHeader();
            }
            catch (ObjectDisposedException)
            {
                continue;
            }

            if (status != RegionHeaderStatus.Valid && _engine.Detach(attachment.GroupId) is not null)
            {
                Log.RegionInvalid(_logger, attachment.Group, attachment.RegionPath, status);
                _control.RequestReregister();
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(60, LogLevel.Warning, "engine of group {Group}: region {Path} no longer valid ({Status}); sealed network path until it is registered again")]
        public static partial void RegionInvalid(ILogger logger, string group, string path, RegionHeaderStatus status);
    }
}
