using Microsoft.Extensions.Options;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>Collects every problem of <see cref="LibvirtOptions"/>, each with its configuration path.</summary>
internal sealed class LibvirtOptionsValidator : IValidateOptions<LibvirtOptions>
{
    public ValidateOptionsResult Validate(string? name, LibvirtOptions options)
    {
        const string s = LibvirtOptions.SectionName;
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Uri) || !options.Uri.Contains("://", StringComparison.Ordinal))
        {
            errors.Add($"{s}:Uri: '{options.Uri}' is not a libvirt URI (e.g. qemu:///system)");
        }
        if (string.IsNullOrWhiteSpace(options.AgentSocketDirectory) || !Path.IsPathRooted(options.AgentSocketDirectory))
        {
            errors.Add($"{s}:AgentSocketDirectory: '{options.AgentSocketDirectory}' must be an absolute path");
        }
        if (options.ShmemSizeMiB < 1 || options.ShmemSizeMiB > 1024 || (options.ShmemSizeMiB & (options.ShmemSizeMiB - 1)) != 0)
        {
            errors.Add($"{s}:ShmemSizeMiB: {options.ShmemSizeMiB} must be a power of two between 1 and 1024");
        }
        if (string.IsNullOrWhiteSpace(options.VsockDevicePath))
        {
            errors.Add($"{s}:VsockDevicePath: must not be empty");
        }
        if (options.KeepAliveIntervalSeconds < 1)
        {
            errors.Add($"{s}:KeepAliveIntervalSeconds: {options.KeepAliveIntervalSeconds} must be at least 1");
        }
        if (options.KeepAliveCount < 1)
        {
            errors.Add($"{s}:KeepAliveCount: {options.KeepAliveCount} must be at least 1");
        }
        if (options.AddressRefreshInterval < TimeSpan.Zero)
        {
            errors.Add($"{s}:AddressRefreshInterval: {options.AddressRefreshInterval} must not be negative (zero switches address learning off)");
        }
        if (options.ReconnectInitialDelay <= TimeSpan.Zero)
        {
            errors.Add($"{s}:ReconnectInitialDelay: {options.ReconnectInitialDelay} must be positive");
        }
        if (options.ReconnectMaxDelay < options.ReconnectInitialDelay)
        {
            errors.Add($"{s}:ReconnectMaxDelay: {options.ReconnectMaxDelay} must not be below ReconnectInitialDelay");
        }
        foreach (var (host, uri) in options.PeerUris)
        {
            if (string.IsNullOrWhiteSpace(uri) || !uri.Contains("://", StringComparison.Ordinal))
            {
                errors.Add($"{s}:PeerUris:{host}: '{uri}' is not a libvirt URI (e.g. qemu+ssh://hostb/system)");
            }
        }
        foreach (var (host, uri) in options.MigrationUris)
        {
            if (string.IsNullOrWhiteSpace(uri) || !uri.Contains(':', StringComparison.Ordinal))
            {
                errors.Add($"{s}:MigrationUris:{host}: '{uri}' is not a migration URI (e.g. tcp:10.0.0.2)");
            }
        }
        if (options.EngineLeaveTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{s}:EngineLeaveTimeout: {options.EngineLeaveTimeout} must be positive");
        }
        if (options.RegionUnplugTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{s}:RegionUnplugTimeout: {options.RegionUnplugTimeout} must be positive");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
