using System.Numerics;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.HostDaemon.Engine;

/// <summary>Checks <see cref="EngineOptions"/> and reports every problem at once, each with its path.</summary>
internal sealed class EngineOptionsValidator : IValidateOptions<EngineOptions>
{
    public ValidateOptionsResult Validate(string? name, EngineOptions options)
    {
        var errors = new List<string>();
        const string p = EngineOptions.SectionName;
        if (string.IsNullOrWhiteSpace(options.Directory) || !Path.IsPathFullyQualified(options.Directory))
        {
            errors.Add($"{p}.Directory: '{options.Directory}' must be an absolute path");
        }

        if (string.IsNullOrEmpty(options.NamePrefix) || options.NamePrefix.IndexOfAny(['/', '\0']) >= 0)
        {
            errors.Add($"{p}.NamePrefix: '{options.NamePrefix}' must be non-empty and contain no '/'");
        }

        if (options.RegionSizeBytes < (1L << 20) || !BitOperations.IsPow2(options.RegionSizeBytes))
        {
            errors.Add($"{p}.RegionSizeBytes: {options.RegionSizeBytes} must be a power of two of at least 1 MiB (ivshmem BAR size)");
        }
        else if (!EngineRegionLayout.TryCompute(options.RegionSizeBytes, options.SlotCount, out _, out string? layoutError))
        {
            errors.Add($"{p}.SlotCount/RegionSizeBytes: {layoutError}");
        }

        if (options.SlotCount < 2 || options.SlotCount > EngineRegionLayout.MaxSlots)
        {
            errors.Add($"{p}.SlotCount: {options.SlotCount} must be within [2, {EngineRegionLayout.MaxSlots}]");
        }

        if (options.HeartbeatExpiry <= TimeSpan.Zero)
        {
            errors.Add($"{p}.HeartbeatExpiry: {options.HeartbeatExpiry} must be positive");
        }

        if (options.ScrubInterval <= TimeSpan.Zero)
        {
            errors.Add($"{p}.ScrubInterval: {options.ScrubInterval} must be positive");
        }

        if (!string.IsNullOrEmpty(options.OwnerUser) && !UnixAccounts.TryResolve(options.OwnerUser, out _, out _))
        {
            errors.Add($"{p}.OwnerUser: user '{options.OwnerUser}' does not exist on this host (install libvirt-daemon-system or set it empty)");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
