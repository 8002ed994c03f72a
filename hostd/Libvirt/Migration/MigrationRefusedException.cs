namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>domain-migrate could not (or would not) move the domain; <see cref="Status"/> is the API's answer.</summary>
internal sealed class MigrationRefusedException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
