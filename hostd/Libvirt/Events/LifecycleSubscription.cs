using System.Runtime.InteropServices;
using System.Text;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// Lifecycle callbacks (virConnectDomainEventRegisterAny) and the close callback of one connection, handed to
/// managed code as <see cref="DomainLifecycleEvent"/>s and a "closed" notification. The callbacks run on the
/// event-loop thread: they copy what they need and return; they never call back into a libvirt RPC.
/// </summary>
internal sealed unsafe class LifecycleSubscription : IDisposable
{
    private readonly LibvirtConnection _connection;
    private readonly Action<DomainLifecycleEvent> _onEvent;
    private readonly Action<int> _onClosed;
    private readonly TimeProvider _time;
    private int _callbackId = -1;
    private bool _closeRegistered;
    private long _sequence;
    private long _callbackFailures;

    private LifecycleSubscription(LibvirtConnection connection, Action<DomainLifecycleEvent> onEvent, Action<int> onClosed, TimeProvider time)
    {
        _connection = connection;
        _onEvent = onEvent;
        _onClosed = onClosed;
        _time = time;
    }

    /// <summary>Exceptions thrown by the managed handlers (counted, never propagated into libvirt).</summary>
    public long CallbackFailures => Interlocked.Read(ref _callbackFailures);

    /// <param name="onClosed">Called with virConnectCloseReason (0 error, 1 EOF, 2 keepalive, 3 client).</param>
    public static LifecycleSubscription Register(LibvirtConnection connection, Action<DomainLifecycleEvent> onEvent, Action<int> onClosed, TimeProvider time)
    {
        var subscription = new LifecycleSubscription(connection, onEvent, onClosed, time);
        try
        {
            subscription.RegisterLocked();
        }
        catch
        {
            subscription.Dispose();
            throw;
        }
        return subscription;
    }

    private void RegisterLocked()
    {
        // Each registration owns one GCHandle; libvirt calls the free callback when it drops the registration.
        IntPtr lifecycleOpaque = GCHandle.ToIntPtr(GCHandle.Alloc(this));
        int id = Interop.Libvirt.ConnectDomainEventRegisterAny(
            _connection.Handle, IntPtr.Zero, Interop.Libvirt.DomainEventIdLifecycle, &OnLifecycle, lifecycleOpaque, &FreeOpaque);
        if (id < 0)
        {
            GCHandle.FromIntPtr(lifecycleOpaque).Free();
            LibvirtErrors.ThrowLast("virConnectDomainEventRegisterAny", $"connection '{_connection.Uri}'");
        }
        _callbackId = id;

        IntPtr closeOpaque = GCHandle.ToIntPtr(GCHandle.Alloc(this));
        if (Interop.Libvirt.ConnectRegisterCloseCallback(_connection.Handle, &OnClosed, closeOpaque, &FreeOpaque) < 0)
        {
            GCHandle.FromIntPtr(closeOpaque).Free();
            // The test driver has no close callback (nothing can close under it): events still work.
            var error = LibvirtErrors.CreateLast("virConnectRegisterCloseCallback", $"connection '{_connection.Uri}'");
            if (error.Code != LibvirtErrorCode.NoSupport)
            {
                throw error;
            }
            return;
        }
        _closeRegistered = true;
    }

    public void Dispose()
    {
        // A dead connection refuses to deregister; its registrations die with it, so errors are expected here.
        if (_callbackId >= 0 && Interop.Libvirt.ConnectDomainEventDeregisterAny(_connection.Handle, _callbackId) < 0)
        {
            Interop.Libvirt.ResetLastError();
        }
        _callbackId = -1;
        if (_closeRegistered && Interop.Libvirt.ConnectUnregisterCloseCallback(_connection.Handle, &OnClosed) < 0)
        {
            Interop.Libvirt.ResetLastError();
        }
        _closeRegistered = false;
    }

    [UnmanagedCallersOnly]
    private static int OnLifecycle(IntPtr conn, IntPtr domain, int kind, int detail, IntPtr opaque)
    {
        if (GCHandle.FromIntPtr(opaque).Target is not LifecycleSubscription self)
        {
            return 0;
        }
        try
        {
            // The domain pointer is borrowed for the duration of the callback: read name and UUID now.
            string name = Marshal.PtrToStringUTF8(Interop.Libvirt.DomainGetName(domain)) ?? string.Empty;
            byte* uuid = stackalloc byte[Interop.Libvirt.UuidStringBufferLength];
            // SAFETY: the buffer has VIR_UUID_STRING_BUFLEN bytes, what libvirt writes.
            Guid id = Interop.Libvirt.DomainGetUuidString(domain, uuid) == 0
                ? Guid.Parse(Encoding.ASCII.GetString(uuid, Interop.Libvirt.UuidStringBufferLength - 1))
                : Guid.Empty;
            long sequence = Interlocked.Increment(ref self._sequence);
            self._onEvent(new DomainLifecycleEvent(sequence, name, id, (DomainEventKind)kind, detail, self._time.GetUtcNow()));
        }
        catch (Exception)
        {
            // Throwing across the native frame would kill the process; the handler's owner sees the count.
            Interlocked.Increment(ref self._callbackFailures);
        }
        return 0;
    }

    [UnmanagedCallersOnly]
    private static void OnClosed(IntPtr conn, int reason, IntPtr opaque)
    {
        if (GCHandle.FromIntPtr(opaque).Target is not LifecycleSubscription self)
        {
            return;
        }
        try
        {
            self._onClosed(reason);
        }
        catch (Exception)
        {
            Interlocked.Increment(ref self._callbackFailures);
        }
    }

    [UnmanagedCallersOnly]
    private static void FreeOpaque(IntPtr opaque) => GCHandle.FromIntPtr(opaque).Free();
}
