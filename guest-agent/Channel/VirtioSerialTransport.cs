using OverlayKvm.Core.Channel;

namespace OverlayKvm.GuestAgent.Channel;

/// <summary>
/// The VM transport: the virtio-serial port whose /sys/class/virtio-ports/vportNpM/name is
/// <c>org.overlaykvm.agent.0</c>, opened as /dev/vportNpM (no udev in small guests, so no by-name link).
/// Writes block until overlayd connects on the host side, which is what we want.
/// </summary>
internal sealed class VirtioSerialTransport : IHostChannelTransport
{
    private readonly string _sysRoot;
    private readonly string _devRoot;

    public VirtioSerialTransport(string sysRoot = "/sys/class/virtio-ports", string devRoot = "/dev")
    {
        _sysRoot = sysRoot;
        _devRoot = devRoot;
    }

    public async Task<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            string? port = FindPort();
            if (port is not null)
            {
                return new FileStream(Path.Combine(_devRoot, port), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1, FileOptions.Asynchronous);
            }
            // The port appears once virtio_console is loaded; keep looking rather than failing the agent.
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    internal string? FindPort()
    {
        if (!Directory.Exists(_sysRoot))
        {
            return null;
        }
        foreach (string dir in Directory.GetDirectories(_sysRoot))
        {
            string nameFile = Path.Combine(dir, "name");
            if (File.Exists(nameFile) && File.ReadAllText(nameFile).Trim() == ChannelProtocol.VirtioPortName)
            {
                return Path.GetFileName(dir);
            }
        }
        return null;
    }

    public string Describe() => "virtio-serial " + ChannelProtocol.VirtioPortName;
}
