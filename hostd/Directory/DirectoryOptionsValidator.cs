using System.Net;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.DirectoryService;

/// <summary>Collects every malformed trusted segment, each with its index.</summary>
internal sealed class DirectoryOptionsValidator : IValidateOptions<DirectoryOptions>
{
    public ValidateOptionsResult Validate(string? name, DirectoryOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.TrustedSegments.Count; i++)
        {
            var key = $"{DirectoryOptions.Section}:TrustedSegments:{i}";
            try
            {
                var segment = PolicyText.ParseCidr(key, options.TrustedSegments[i] ?? "");
                if (segment.PrefixLength == 0)
                {
                    errors.Add($"{key}: {segment} would trust every network; list the trusted segments themselves");
                }
            }
            catch (ModelValidationException e)
            {
                errors.Add(e.Message);
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The classifier the options describe: shared by the directory (route-explain) and the documents (agents).</summary>
    public static PathClassifier ToClassifier(DirectoryOptions options) =>
        new(Parse(options), options.TrustedSegmentIntegrity ? TransformationTable.StandardWithTrustedIntegrity : TransformationTable.Standard);

    public static List<IPNetwork> Parse(DirectoryOptions options)
    {
        var list = new List<IPNetwork>(options.TrustedSegments.Count);
        for (var i = 0; i < options.TrustedSegments.Count; i++)
        {
            list.Add(PolicyText.ParseCidr($"{DirectoryOptions.Section}:TrustedSegments:{i}", options.TrustedSegments[i]));
        }

        return list;
    }
}
