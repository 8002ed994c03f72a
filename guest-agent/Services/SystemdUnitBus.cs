using Tmds.DBus.Protocol;

namespace OverlayKvm.GuestAgent.Services;

/// <summary>
/// The part of systemd's D-Bus API (org.freedesktop.systemd1(5)) the unit follower needs: Subscribe (systemd
/// emits unit signals only while someone subscribed), LoadUnit, a unit's ActiveState, and the two signals that
/// say it may have changed: PropertiesChanged on the unit object and the manager's JobRemoved. Signals are only
/// triggers: the state itself is always read back with a method call addressed to org.freedesktop.systemd1, so a
/// signal forged by another process on the bus can make the agent look again, never make it believe a state.
/// </summary>
internal sealed class SystemdUnitBus : IDisposable
{
    public const string ServiceName = "org.freedesktop.systemd1";
    public const string ManagerPath = "/org/freedesktop/systemd1";
    public const string ManagerInterface = "org.freedesktop.systemd1.Manager";
    public const string UnitInterface = "org.freedesktop.systemd1.Unit";
    private const string PropertiesInterface = "org.freedesktop.DBus.Properties";

    private readonly DBusConnection _connection;

    private SystemdUnitBus(DBusConnection connection) => _connection = connection;

    /// <summary>The address followed: the given one, else $DBUS_SYSTEM_BUS_ADDRESS, else /var/run/dbus/system_bus_socket.</summary>
    public static string? ResolveAddress(string? address) => address ?? DBusAddress.System;

    /// <summary>Connects and subscribes; throws when there is no bus or no systemd on it.</summary>
    public static async Task<SystemdUnitBus> ConnectAsync(string? address, CancellationToken cancellationToken)
    {
        string resolved = ResolveAddress(address) ?? throw new IOException("no D-Bus system bus address");
        var connection = new DBusConnection(resolved);
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
            var bus = new SystemdUnitBus(connection);
            await bus.CallManagerAsync("Subscribe").ConfigureAwait(false);
            return bus;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Completes when the bus connection ends (bus restarted, systemd gone from it is not this).</summary>
    public Task<Exception?> DisconnectedAsync() => _connection.DisconnectedAsync();

    /// <summary>The unit's object path (LoadUnit loads a unit that is not loaded yet, unlike GetUnit).</summary>
    public Task<string> LoadUnitAsync(string unit)
    {
        using MessageWriter writer = _connection.GetMessageWriter();
        writer.WriteMethodCallHeader(ServiceName, ManagerPath, ManagerInterface, "LoadUnit", "s");
        writer.WriteString(unit);
        return _connection.CallMethodAsync(writer.CreateMessage(), static (Message m, object? _) => m.GetBodyReader().ReadObjectPathAsString());
    }

    /// <summary>ActiveState of the unit at path: active, reloading, inactive, failed, activating, deactivating (or newer values).</summary>
    public Task<string> GetActiveStateAsync(string unitPath)
    {
        using MessageWriter writer = _connection.GetMessageWriter();
        writer.WriteMethodCallHeader(ServiceName, unitPath, PropertiesInterface, "Get", "ss");
        writer.WriteString(UnitInterface);
        writer.WriteString("ActiveState");
        return _connection.CallMethodAsync(writer.CreateMessage(), static (Message m, object? _) => m.GetBodyReader().ReadVariantValue().GetString());
    }

    /// <summary>Calls changed() whenever systemd announces a property change of the unit object at unitPath.</summary>
    public async Task<IDisposable> WatchUnitAsync(string unitPath, Action changed) =>
        await _connection.WatchPropertiesChangedAsync(ServiceName, unitPath, UnitInterface,
            static (Message _, object? _) => true,
            (Notification<bool> n) =>
            {
                if (n.HasValue)
                {
                    changed();
                }
            },
            ObserverFlags.None, emitOnCapturedContext: false).ConfigureAwait(false);

    /// <summary>Calls finished(unit) for every JobRemoved(id, job, unit, result): a start or stop job of unit ended.</summary>
    public async Task<IDisposable> WatchJobRemovedAsync(Action<string> finished) =>
        await _connection.WatchSignalAsync(ServiceName, ManagerPath, ManagerInterface, "JobRemoved",
            static (Message m, object? _) =>
            {
                Reader reader = m.GetBodyReader();
                reader.ReadUInt32();
                reader.ReadObjectPathAsString();
                return reader.ReadString();
            },
            (Notification<string> n) =>
            {
                if (n.HasValue)
                {
                    finished(n.Value);
                }
            },
            ObserverFlags.None, emitOnCapturedContext: false).ConfigureAwait(false);

    private Task CallManagerAsync(string member)
    {
        using MessageWriter writer = _connection.GetMessageWriter();
        writer.WriteMethodCallHeader(ServiceName, ManagerPath, ManagerInterface, member);
        return _connection.CallMethodAsync(writer.CreateMessage());
    }

    public void Dispose() => _connection.Dispose();
}
