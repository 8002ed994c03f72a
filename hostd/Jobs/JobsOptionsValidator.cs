using Microsoft.Extensions.Options;
using OverlayKvm.Core.Credentials;
using OverlayKvm.Core.Model.Validation;

namespace OverlayKvm.HostDaemon.Jobs;

/// <summary>Collects every problem of <see cref="JobsOptions"/>, each with its key.</summary>
internal sealed class JobsOptionsValidator : IValidateOptions<JobsOptions>
{
    public static readonly TimeSpan MinInterval = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MinCheckInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxCheckInterval = TimeSpan.FromHours(1);

    public ValidateOptionsResult Validate(string? name, JobsOptions options)
    {
        const string key = $"{JobsOptions.Section}:CredentialRotation";
        var errors = new List<string>();
        var rotation = options.CredentialRotation;
        if (rotation is null)
        {
            return ValidateOptionsResult.Fail($"{key}: is missing");
        }

        if (rotation.CheckInterval < MinCheckInterval || rotation.CheckInterval > MaxCheckInterval)
            errors.Add($"{key}:CheckInterval: {rotation.CheckInterval} is outside {MinCheckInterval} to {MaxCheckInterval}");
        CheckInterval(errors, $"{key}:DefaultInterval", rotation.DefaultInterval, rotation.Grace);
        foreach (var (group, interval) in rotation.Groups)
        {
            if (!NameRules.IsValid(group))
                errors.Add($"{key}:Groups:{group}: '{group}' is not a legal group name ({NameRules.Pattern})");
            CheckInterval(errors, $"{key}:Groups:{group}", interval, rotation.Grace);
        }

        if (rotation.Grace < TimeSpan.Zero || rotation.Grace > CredentialRotation.MaxGrace)
            errors.Add($"{key}:Grace: {rotation.Grace} is outside 0 to {CredentialRotation.MaxGrace}");
        var reconcile = options.DirectoryReconciliation;
        if (reconcile is null)
            errors.Add($"{JobsOptions.Section}:DirectoryReconciliation: is missing");
        else if (reconcile.Interval < MinCheckInterval || reconcile.Interval > MaxCheckInterval)
            errors.Add($"{JobsOptions.Section}:DirectoryReconciliation:Interval: {reconcile.Interval} is outside {MinCheckInterval} to {MaxCheckInterval}");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    // A grace as long as the interval would keep two old epochs alive at once: the key set would only grow.
    private static void CheckInterval(List<string> errors, string key, TimeSpan interval, TimeSpan grace)
    {
        if (interval == TimeSpan.Zero) return;
        if (interval < MinInterval)
            errors.Add($"{key}: {interval} is shorter than {MinInterval} (use 0 to turn rotation off)");
        else if (interval <= grace)
            errors.Add($"{key}: {interval} is not longer than the grace period {grace}");
    }
}
