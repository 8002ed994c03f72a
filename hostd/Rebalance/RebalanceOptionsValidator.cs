using Microsoft.Extensions.Options;

namespace OverlayKvm.HostDaemon.Rebalance;

internal sealed class RebalanceOptionsValidator : IValidateOptions<RebalanceOptions>
{
    public ValidateOptionsResult Validate(string? name, RebalanceOptions o)
    {
        const string s = RebalanceOptions.SectionName;
        var errors = new List<string>();
        if (o.SampleIntervalSeconds is < 1 or > 3600)
        {
            errors.Add($"{s}:SampleIntervalSeconds: {o.SampleIntervalSeconds} must be between 1 and 3600");
        }
        if (o.WindowSeconds < Math.Max(2, 2 * o.SampleIntervalSeconds) || o.WindowSeconds > 86400)
        {
            errors.Add($"{s}:WindowSeconds: {o.WindowSeconds} must hold at least two samples (>= 2 × SampleIntervalSeconds) and be at most 86400");
        }
        if (o.MaxMovesPerHour is < 0 or > 1000)
        {
            errors.Add($"{s}:MaxMovesPerHour: {o.MaxMovesPerHour} must be between 0 and 1000");
        }
        if (!(o.MinBytesPerSecond >= 0))
        {
            errors.Add($"{s}:MinBytesPerSecond: {o.MinBytesPerSecond} must be a number, 0 or more");
        }
        if (o.PlacementWaitSeconds is < 1 or > 3600)
        {
            errors.Add($"{s}:PlacementWaitSeconds: {o.PlacementWaitSeconds} must be between 1 and 3600");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
