using OverlayKvm.Core.Interop;
using Native = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.Core.SharedMemory;

/// <summary>Why <see cref="EngineDoorbell.Wait"/> returned; the caller re-checks its rings in every case.</summary>
public enum DoorbellWaitResult
{
    /// <summary>A producer rang (or the kernel woke the waiter spuriously, e.g. a signal).</summary>
    Woken = 0,
    /// <summary>The bounded wait ran out: the only notice a producer in another kernel (another VM) can give.</summary>
    TimedOut,
    /// <summary>The word was no longer "sleeping" when the kernel looked: a producer cleared it just before, or a
    /// peer scribbled on it (a second time in a row → the wait became a plain sleep so it cannot busy-loop).</summary>
    ValueChanged,
    /// <summary>futex is unusable on this memory (e.g. an ivshmem BAR mapped from sysfs): a plain timed sleep.</summary>
    Slept,
}

/// <summary>
/// One doorbell word of a slot (layout version 2, docs/engine-region.md "Notification"): a u32 in the slot's own
/// cache line that says whether a thread of that slot sleeps — the receive doorbell (its receive thread waits for
/// data; senders ring it after publishing) or the room doorbell (its sending thread waits for room in a full ring;
/// receivers ring it after consuming). The waiting side <see cref="Announce"/>s, re-checks its condition,
/// and <see cref="Wait"/>s (FUTEX_WAIT, shared, bounded by a timeout); the other side, after changing the ring,
/// <see cref="Ring"/>s: one fence and one read while the waiter is busy, a FUTEX_WAKE only when it sleeps.
/// A futex wake reaches only waiters in the same kernel (namespaces on one host). Between two VMs the word is
/// still shared through ivshmem but the wake is not, so the receiver's timed wait bounds the latency there.
/// The word is written by other (hostile) VMs: any value is safe — a wrong one costs at most an early return
/// or one useless wake, every wait is bounded, and the receiver re-announces before each wait.
/// One instance per user: the receiver's own doorbell is used by its receive thread only; a peer's doorbell
/// by this VM's single sending thread only (the counters are plain fields).
/// </summary>
public sealed unsafe class EngineDoorbell : IDisposable
{
    internal const uint Sleeping = 1;
    internal const uint Awake = 0;

    /// <summary>
    /// Default bound of one wait. It is the wake-up latency between VMs (futex cannot cross kernels) and costs an
    /// idle receiver 1,000 wake-ups a second (measured: docs/engine-region.md "Notification").
    /// </summary>
    public static readonly TimeSpan DefaultWaitLimit = TimeSpan.FromMilliseconds(1);

    private readonly SafeMappedMemoryHandle _lease;
    private readonly uint* _word;
    private bool _futexUsable = Native.SYS_futex > 0;
    private bool _lastWaitChanged;
    private bool _disposed;

    internal EngineDoorbell(SharedMemoryMapping mapping, long offset, int slot)
    {
        if (offset < 0 || (offset & 3) != 0 || offset + sizeof(uint) > mapping.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"doorbell of slot {slot} at {offset} is outside region '{mapping.Path}'");
        }

        Slot = slot;
        _lease = mapping.Handle;
        _lease.AcquireLease();
        // SAFETY: [offset, offset + 4) lies inside the mapping (checked above), 4-aligned (futex requires it); the
        // lease keeps it mapped until Dispose.
        _word = (uint*)(mapping.Pointer + offset);
    }

    public int Slot { get; }

    /// <summary>Waits that reached the kernel or slept.</summary>
    public long Waits { get; private set; }

    public long WokenWaits { get; private set; }

    public long TimedOutWaits { get; private set; }

    public long ChangedWaits { get; private set; }

    /// <summary>FUTEX_WAKE calls issued by <see cref="Ring"/> (the receiver was asleep).</summary>
    public long WakesSent { get; private set; }

    /// <summary>False once the kernel refused a futex on this memory (EFAULT/ENOSYS/EINVAL): plain sleeps from then on.</summary>
    public bool FutexUsable => _futexUsable;

    /// <summary>Receiver: "I am about to sleep". A full fence, so the re-check of the rings that must follow cannot
    /// be reordered before this store (the other half of the handshake is the fence in <see cref="Ring"/>).</summary>
    public void Announce()
    {
        ThrowIfDisposed();
        Interlocked.Exchange(ref *_word, Sleeping);
    }

    /// <summary>Receiver: awake again (producers stop issuing wakes).</summary>
    public void Withdraw()
    {
        ThrowIfDisposed();
        Volatile.Write(ref *_word, Awake);
    }

    /// <summary>Receiver, after <see cref="Announce"/> and a re-check that found nothing: sleeps until a producer rings
    /// or <paramref name="limit"/> passes. Never longer than the limit, whatever is written to the word.</summary>
    public DoorbellWaitResult Wait(TimeSpan limit)
    {
        ThrowIfDisposed();
        Waits++;
        if (!_futexUsable || _lastWaitChanged)
        {
            // Twice in a row the word was not ours when the kernel looked and nothing had arrived: someone scribbles
            // on it. A plain sleep keeps this thread from spinning through immediate returns.
            _lastWaitChanged = false;
            Thread.Sleep(Math.Max(1, (int)Math.Ceiling(limit.TotalMilliseconds)));
            return DoorbellWaitResult.Slept;
        }

        var timeout = new Native.Timespec
        {
            Seconds = (long)limit.TotalSeconds,
            Nanoseconds = limit.Ticks % TimeSpan.TicksPerSecond * 100,
        };
        // SAFETY: _word points into the leased mapping (constructor); the timespec lives on this stack frame.
        long rc = Native.Futex(Native.SYS_futex, _word, Native.FUTEX_WAIT, Sleeping, &timeout, 0, 0);
        if (rc == 0)
        {
            WokenWaits++;
            return DoorbellWaitResult.Woken;
        }

        Errno errno = IoCheck.LastErrno;
        switch (errno)
        {
            case Errno.ETIMEDOUT:
                TimedOutWaits++;
                return DoorbellWaitResult.TimedOut;
            case Errno.EAGAIN:
                ChangedWaits++;
                _lastWaitChanged = true;
                return DoorbellWaitResult.ValueChanged;
            case Errno.EINTR:
                WokenWaits++;
                return DoorbellWaitResult.Woken;
            default:
                // EFAULT: the memory cannot carry a futex (a PCI BAR mapped from sysfs is VM_PFNMAP); ENOSYS/EINVAL:
                // no futex here. Plain bounded sleeps from now on.
                _futexUsable = false;
                Thread.Sleep(Math.Max(1, (int)Math.Ceiling(limit.TotalMilliseconds)));
                return DoorbellWaitResult.Slept;
        }
    }

    /// <summary>Waiter: its condition was met (data or room found), so an early return of the last wait was a
    /// legitimate race with the other side's wake, not a scribbler (clears the "changed twice" guard).</summary>
    public void NoteDataFound() => _lastWaitChanged = false;

    /// <summary>
    /// Producer, after publishing a record: wakes the receiver if it announced that it sleeps. The fence orders the
    /// tail store before the read of the word (with <see cref="Announce"/>'s fence: either the receiver's re-check
    /// sees the record, or this read sees "sleeping" — never neither). The compare-exchange makes only one of
    /// several producers pay the syscall.
    /// </summary>
    public void Ring()
    {
        ThrowIfDisposed();
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref *_word) != Sleeping || Interlocked.CompareExchange(ref *_word, Awake, Sleeping) != Sleeping)
        {
            return;
        }

        WakesSent++;
        if (_futexUsable)
        {
            // SAFETY: _word points into the leased mapping (constructor).
            long rc = Native.Futex(Native.SYS_futex, _word, Native.FUTEX_WAKE, int.MaxValue, null, 0, 0);
            if (rc < 0 && IoCheck.LastErrno is Errno.EFAULT or Errno.ENOSYS or Errno.EINVAL)
            {
                _futexUsable = false;
            }
        }
    }

    /// <summary>The raw word as read now (tests and diagnostics).</summary>
    public uint Peek()
    {
        ThrowIfDisposed();
        return Volatile.Read(ref *_word);
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _lease.ReleaseLease();
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
