namespace OverlayKvm.QemuHook;

/// <summary>The hook's only configuration: two environment variables (libvirt passes its environment through).</summary>
internal sealed record HookSettings(string SocketPath, TimeSpan Timeout)
{
    public const string SocketVariable = "OVERLAYKVM_SOCKET";
    public const string TimeoutVariable = "OVERLAYKVM_HOOK_TIMEOUT_MS";
    public const string DefaultSocket = "/run/overlaykvm/overlayd.sock";

    /// <summary>Long enough for a loaded overlayd, short enough that a hung one does not stall libvirt for long.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(3);

    public static HookSettings FromEnvironment()
    {
        string socket = Environment.GetEnvironmentVariable(SocketVariable) is { Length: > 0 } s ? s : DefaultSocket;
        var timeout = DefaultTimeout;
        if (int.TryParse(Environment.GetEnvironmentVariable(TimeoutVariable), out int ms) && ms is > 0 and <= 60_000)
        {
            timeout = TimeSpan.FromMilliseconds(ms);
        }
        return new HookSettings(socket, timeout);
    }
}
