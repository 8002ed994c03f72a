using Microsoft.Extensions.Options;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Policy;

/// <summary>Collects every problem of <see cref="PolicyOptions"/>, each with its key.</summary>
internal sealed class PolicyOptionsValidator : IValidateOptions<PolicyOptions>
{
    public ValidateOptionsResult Validate(string? name, PolicyOptions options)
    {
        var errors = new List<string>();
        Check(errors, $"{PolicyOptions.Section}:DefaultBetweenGroups", options.DefaultBetweenGroups);
        Check(errors, $"{PolicyOptions.Section}:DefaultWithinGroup", options.DefaultWithinGroup);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The defaults as the evaluator takes them (call after validation).</summary>
    public static PolicyDefaults ToDefaults(PolicyOptions options) => new(
        PolicyText.ParseVerdict($"{PolicyOptions.Section}:DefaultBetweenGroups", options.DefaultBetweenGroups),
        PolicyText.ParseVerdict($"{PolicyOptions.Section}:DefaultWithinGroup", options.DefaultWithinGroup));

    private static void Check(List<string> errors, string key, string? value)
    {
        // An empty value would silently mean "allow": refuse it, an operator who set the key meant something.
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{key}: is empty; use allow or deny");
            return;
        }

        try
        {
            PolicyText.ParseVerdict(key, value);
        }
        catch (ModelValidationException e)
        {
            errors.Add(e.Message);
        }
    }
}
