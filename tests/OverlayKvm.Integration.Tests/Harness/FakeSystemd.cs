using System.Text;
using Tmds.DBus.Protocol;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// Plays systemd on a private bus for the unit follower: owns org.freedesktop.systemd1, answers Manager.Subscribe,
/// Manager.LoadUnit and Properties.Get(Unit, ActiveState), and emits what systemd emits when a unit changes state:
/// PropertiesChanged on the unit object and/or the manager's JobRemoved. Counts the state reads so a test can
/// tell that the agent has looked.
/// </summary>
internal sealed class FakeSystemd : IPathMethodHandler, IDisposable
{
    private const string UnitInterface = "org.freedesktop.systemd1.Unit";
    private const string ManagerInterface = "org.freedesktop.systemd1.Manager";
    private readonly DBusConnection _connection;
    private readonly Dictionary<string, string> _states = new(StringComparer.Ordinal);
    private int _stateReads;
    private int _subscribes;
    private uint _jobs;

    private FakeSystemd(DBusConnection connection) => _connection = connection;

    public string Path => "/org/freedesktop/systemd1";

    public bool HandlesChildPaths => true;

    public int StateReads => Volatile.Read(ref _stateReads);

    public int Subscribes => Volatile.Read(ref _subscribes);

    public static async Task<FakeSystemd> StartAsync(string address)
    {
        var connection = new DBusConnection(address);
        await connection.ConnectAsync();
        var fake = new FakeSystemd(connection);
        connection.AddMethodHandler(fake);
        await connection.RequestNameAsync("org.freedesktop.systemd1");
        return fake;
    }

    /// <summary>systemd's object path of a unit: /org/freedesktop/systemd1/unit/ + the name with every byte outside [A-Za-z0-9] as _XX.</summary>
    public static string UnitPath(string unit)
    {
        var sb = new StringBuilder("/org/freedesktop/systemd1/unit/");
        foreach (byte b in Encoding.UTF8.GetBytes(unit))
        {
            if (char.IsAsciiLetterOrDigit((char)b))
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append('_').Append(b.ToString("x2"));
            }
        }
        return sb.ToString();
    }

    /// <summary>Sets the unit's state and announces it the way systemd does (PropertiesChanged, JobRemoved, or both).</summary>
    public void SetState(string unit, string state, bool propertiesChanged = true, bool jobRemoved = false)
    {
        lock (_states)
        {
            _states[unit] = state;
        }
        if (propertiesChanged)
        {
            using MessageWriter w = _connection.GetMessageWriter();
            w.WriteSignalHeader(null, UnitPath(unit), "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as");
            w.WriteString(UnitInterface);
            ArrayStart dict = w.WriteDictionaryStart();
            w.WriteDictionaryEntryStart();
            w.WriteString("ActiveState");
            w.WriteVariantString(state);
            w.WriteDictionaryEnd(dict);
            w.WriteArray(Array.Empty<string>());
            Assert.True(_connection.TrySendMessage(w.CreateMessage()), "fake systemd: PropertiesChanged not sent");
        }
        if (jobRemoved)
        {
            using MessageWriter w = _connection.GetMessageWriter();
            w.WriteSignalHeader(null, Path, ManagerInterface, "JobRemoved", "uoss");
            uint id = ++_jobs;
            w.WriteUInt32(id);
            w.WriteObjectPath($"/org/freedesktop/systemd1/job/{id}");
            w.WriteString(unit);
            w.WriteString(state == "failed" ? "failed" : "done");
            Assert.True(_connection.TrySendMessage(w.CreateMessage()), "fake systemd: JobRemoved not sent");
        }
    }

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        Message request = context.Request;
        switch (request.InterfaceAsString, request.MemberAsString)
        {
            case (ManagerInterface, "Subscribe"):
            {
                Interlocked.Increment(ref _subscribes);
                using MessageWriter w = context.CreateReplyWriter(null);
                context.Reply(w.CreateMessage());
                break;
            }
            case (ManagerInterface, "LoadUnit"):
            {
                string unit = request.GetBodyReader().ReadString();
                lock (_states)
                {
                    _states.TryAdd(unit, "inactive");
                }
                using MessageWriter w = context.CreateReplyWriter("o");
                w.WriteObjectPath(UnitPath(unit));
                context.Reply(w.CreateMessage());
                break;
            }
            case ("org.freedesktop.DBus.Properties", "Get"):
            {
                Reader r = request.GetBodyReader();
                string iface = r.ReadString();
                string property = r.ReadString();
                string? state = null;
                lock (_states)
                {
                    foreach (var (unit, s) in _states)
                    {
                        if (UnitPath(unit) == request.PathAsString)
                        {
                            state = s;
                        }
                    }
                }
                if (iface != UnitInterface || property != "ActiveState" || state is null)
                {
                    context.ReplyError("org.freedesktop.DBus.Error.UnknownProperty", $"fake systemd has no {iface}.{property} at {request.PathAsString}");
                    break;
                }
                Interlocked.Increment(ref _stateReads);
                using MessageWriter w = context.CreateReplyWriter("v");
                w.WriteVariantString(state);
                context.Reply(w.CreateMessage());
                break;
            }
            default:
                context.ReplyUnknownMethodError();
                break;
        }
        return default;
    }

    public void Dispose() => _connection.Dispose();
}
