using Microsoft.Extensions.Options;

namespace OverlayKvm.HostDaemon.Placement;

internal sealed class PlacementOptionsValidator : IValidateOptions<PlacementOptions>
{
    public ValidateOptionsResult Validate(string? name, PlacementOptions options)
    {
        const string s = PlacementOptions.SectionName;
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.HostName))
        {
            errors.Add($"{s}:HostName: must not be empty");
        }
        if (options.LocalCapacity < 0)
        {
            errors.Add($"{s}:LocalCapacity: {options.LocalCapacity} must not be negative");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
