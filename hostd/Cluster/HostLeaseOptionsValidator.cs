using Microsoft.Extensions.Options;

namespace OverlayKvm.HostDaemon.Cluster;

/// <summary>Collects every out-of-range lease setting, each with its configuration path.</summary>
internal sealed class HostLeaseOptionsValidator : IValidateOptions<HostLeaseOptions>
{
    public ValidateOptionsResult Validate(string? name, HostLeaseOptions options)
    {
        var errors = new List<string>();
        var s = HostLeaseOptions.SectionName;
        // etcd refuses TTLs under its minimum (about 2 s with the default election timeout); hours would hide dead hosts.
        if (options.LeaseTtlSeconds is < 2 or > 3600)
            errors.Add($"{s}:LeaseTtlSeconds: must be from 2 to 3600 seconds (got {options.LeaseTtlSeconds})");
        if (options.LivenessPollMilliseconds is < 50 or > 60_000)
            errors.Add($"{s}:LivenessPollMilliseconds: must be from 50 to 60000 (got {options.LivenessPollMilliseconds})");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
