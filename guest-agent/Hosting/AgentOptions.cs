namespace OverlayKvm.GuestAgent.Hosting;

/// <summary>Settings of overlay-agent (command-line flags of `overlay-agent serve`).</summary>
internal sealed class AgentOptions
{
    /// <summary>
    /// UDP port of the sealed path on every VM. 7480: below Linux's ephemeral range (32768-60999), so no outgoing
    /// connection of the VM can take it, and clear of other tunnels a VM may run (VXLAN 4789, GENEVE 6081,
    /// Nebula 4242, WireGuard 51820).
    /// </summary>
    public int OverlayPort { get; set; } = DefaultOverlayPort;

    public const int DefaultOverlayPort = 7480;

    /// <summary>Local address the overlay socket binds to (default: all).</summary>
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>MTU of the VM's network; the adapter MTU is this minus 68 bytes of encapsulation.</summary>
    public int UnderlayMtu { get; set; } = 1500;

    /// <summary>SO_RCVBUF/SO_SNDBUF of the overlay socket (the kernel caps it at net.core.[rw]mem_max).</summary>
    public int SocketBufferBytes { get; set; } = 4 << 20;

    /// <summary>Host channel: a unix socket path to listen on (tests), or null for the virtio-serial port.</summary>
    public string? ChannelSocket { get; set; }

    /// <summary>The agent's local control socket (register/unregister/stat).</summary>
    public string ControlSocket { get; set; } = DefaultControlSocket;

    public const string DefaultControlSocket = "/run/overlay-agent/control.sock";

    /// <summary>Where registrations are persisted for reconciliation after a restart.</summary>
    public string StateDirectory { get; set; } = "/var/lib/overlay-agent";

    /// <summary>
    /// Where the engine's group regions are mapped from: null (a VM) → the ivshmem devices' BAR2; a directory (the
    /// agent shares the host's memory, e.g. network-namespace tests) → the file DIR/REGION-NAME the host names.
    /// </summary>
    public string? EngineDirectory { get; set; }

    /// <summary>False turns the acceleration engine off in this agent (every other-VM packet takes the sealed path).</summary>
    public bool EngineEnabled { get; set; } = true;

    /// <summary>
    /// Open the adapters with a virtio-net header and TSO/checksum (and USO) offloads (`--tun-offloads on|off`,
    /// issue 16): the kernel hands over and takes 64 KiB super-packets, one syscall each instead of one per
    /// MTU-sized packet; the engine path carries them whole, the sealed path segments them in user space.
    /// On by default: it wins on every path measured (docs/engine-region.md, "TUN offloads").
    /// </summary>
    public bool TunOffloads { get; set; } = true;

    /// <summary>Apps declared as systemd units (<c>*.conf</c>: app=, unit=, group=); followed over D-Bus.</summary>
    public string AppsDirectory { get; set; } = Services.AppsDirectory.DefaultPath;

    /// <summary>D-Bus address of the bus systemd is on; null: $DBUS_SYSTEM_BUS_ADDRESS or the standard system bus socket.</summary>
    public string? SystemBusAddress { get; set; }

    /// <summary>How often exited app processes are noticed and uncounted.</summary>
    public TimeSpan ReapInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The transmission manager: rule TTLs, negotiation timeout, queueing, stateful replies (seed 004).</summary>
    public Policy.TransmissionOptions Transmission { get; set; } = new();

    /// <summary>Validates every field and returns all problems, each named.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>(Transmission.Validate());
        if (OverlayPort is < 1 or > 65535)
        {
            errors.Add($"--port: {OverlayPort} is not a UDP port (1..65535)");
        }
        if (!System.Net.IPAddress.TryParse(BindAddress, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            errors.Add($"--bind: '{BindAddress}' is not an IPv4 address");
        }
        if (UnderlayMtu is < 576 or > 65535)
        {
            errors.Add($"--underlay-mtu: {UnderlayMtu} outside 576..65535");
        }
        if (string.IsNullOrWhiteSpace(ControlSocket))
        {
            errors.Add("--control: empty path");
        }
        if (EngineDirectory is not null && !Directory.Exists(EngineDirectory))
        {
            errors.Add($"--engine-dir: '{EngineDirectory}' is not a directory");
        }
        if (string.IsNullOrWhiteSpace(StateDirectory))
        {
            errors.Add("--state-dir: empty path");
        }
        return errors;
    }
}
