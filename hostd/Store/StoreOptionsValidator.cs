using Microsoft.Extensions.Options;
using OverlayKvm.Core.Model.Validation;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>Collects every problem of <see cref="StoreOptions"/> (not just the first), each with its path.</summary>
public sealed class StoreOptionsValidator : IValidateOptions<StoreOptions>
{
    public ValidateOptionsResult Validate(string? name, StoreOptions options)
    {
        var errors = new List<string>();
        var path = options.Path;
        if (string.IsNullOrWhiteSpace(path))
        {
            errors.Add($"{StoreOptions.SectionName}.Path: is empty; set it to the database file, e.g. {StoreOptions.DefaultPath}");
        }
        else
        {
            if (!System.IO.Path.IsPathFullyQualified(path))
            {
                errors.Add($"{StoreOptions.SectionName}.Path: '{path}' is not an absolute path");
            }

            if (path.EndsWith('/') || System.IO.Path.GetFileName(path).Length == 0)
            {
                errors.Add($"{StoreOptions.SectionName}.Path: '{path}' names a directory; it must name the database file");
            }

            if (path.Contains('\0') || path.StartsWith("file:", StringComparison.OrdinalIgnoreCase) || path == ":memory:")
            {
                errors.Add($"{StoreOptions.SectionName}.Path: '{path}' must be a plain file path (no URI, no :memory:)");
            }
        }

        if (options.Kind is not (StoreOptions.SqliteKind or StoreOptions.EtcdKind))
        {
            errors.Add($"{StoreOptions.SectionName}.Kind: '{options.Kind}' is not a store; use {StoreOptions.SqliteKind} or {StoreOptions.EtcdKind}");
        }

        if (!NameRules.IsValid(options.LocalHost))
        {
            errors.Add($"{StoreOptions.SectionName}.LocalHost: '{options.LocalHost}' is not a legal host name ({NameRules.Pattern})");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
