using System.Net;
using Microsoft.Extensions.Options;

namespace OverlayKvm.HostDaemon.Hosting;

/// <summary>Collects every problem of <see cref="DaemonOptions"/> at start-up, each with its key, instead of failing on the first.</summary>
internal sealed class DaemonOptionsValidator : IValidateOptions<DaemonOptions>
{
    public ValidateOptionsResult Validate(string? name, DaemonOptions options)
    {
        var errors = new List<string>();
        const string s = DaemonOptions.Section;
        if (string.IsNullOrWhiteSpace(options.Socket) || !Path.IsPathRooted(options.Socket))
            errors.Add($"{s}:Socket: must be an absolute path (got '{options.Socket}')");
        else if (System.Text.Encoding.UTF8.GetByteCount(options.Socket) > 107)
            errors.Add($"{s}:Socket: '{options.Socket}' is longer than a unix socket path may be (107 bytes)");
        if (!TryParseMode(options.SocketMode, out _))
            errors.Add($"{s}:SocketMode: '{options.SocketMode}' is not an octal mode such as 0660");
        if (string.IsNullOrWhiteSpace(options.StateDir) || !Path.IsPathRooted(options.StateDir))
            errors.Add($"{s}:StateDir: must be an absolute path (got '{options.StateDir}')");
        if (string.IsNullOrWhiteSpace(options.ChannelDir) || !Path.IsPathRooted(options.ChannelDir))
            errors.Add($"{s}:ChannelDir: must be an absolute path (got '{options.ChannelDir}')");
        if (!Enum.IsDefined(options.ChannelPeerCheck))
            errors.Add($"{s}:ChannelPeerCheck: must be Strict or None (got {options.ChannelPeerCheck})");
        if (string.IsNullOrWhiteSpace(options.QemuPidDir) || !Path.IsPathRooted(options.QemuPidDir))
            errors.Add($"{s}:QemuPidDir: must be an absolute path (got '{options.QemuPidDir}')");
        if (options.HostAddress is not null && !IPAddress.TryParse(options.HostAddress, out _))
            errors.Add($"{s}:HostAddress: '{options.HostAddress}' is not an IP address");
        if (options.HostCapacity < 1)
            errors.Add($"{s}:HostCapacity: must be at least 1 (got {options.HostCapacity})");
        if (options.MaxRequestBytes is < 1024 or > 64 << 20)
            errors.Add($"{s}:MaxRequestBytes: must be between 1 KiB and 64 MiB (got {options.MaxRequestBytes})");
        if (options.MetricsListen is not null && !Metrics.MetricsListenAddress.TryParse(options.MetricsListen, out _, out string? metricsError))
            errors.Add($"{s}:MetricsListen: {metricsError}");
        if (options.CredentialGraceSeconds < 0)
            errors.Add($"{s}:CredentialGraceSeconds: must not be negative (got {options.CredentialGraceSeconds})");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static bool TryParseMode(string text, out UnixFileMode mode)
    {
        mode = 0;
        if (string.IsNullOrEmpty(text) || text.Length > 4) return false;
        int value = 0;
        foreach (char c in text)
        {
            if (c is < '0' or > '7') return false;
            value = value * 8 + (c - '0');
        }
        mode = (UnixFileMode)value;
        return true;
    }
}
