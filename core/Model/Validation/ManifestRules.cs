using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Model.Validation;

/// <summary>Checks an app's deployment manifest (R0.1): named, unique, sourced objects with well-formed digests.</summary>
public static class ManifestRules
{
    public const int MaxObjects = 1024;
    public const int MaxTextLength = 4096;

    /// <param name="app">"web/frontend", for the message.</param>
    public static void Check(string app, IReadOnlyList<DataObject>? manifest)
    {
        var field = $"app {app}: manifest";
        if (manifest is null)
        {
            throw new ModelValidationException(field, "is missing (use an empty list for no data objects)");
        }

        if (manifest.Count > MaxObjects)
        {
            throw new ModelValidationException(field, $"has {manifest.Count} data objects; at most {MaxObjects} are allowed");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < manifest.Count; i++)
        {
            var item = manifest[i];
            var at = $"{field}[{i}]";
            if (item is null)
            {
                throw new ModelValidationException(at, "is null");
            }

            CheckText($"{at}.name", item.Name);
            CheckText($"{at}.source", item.Source);
            if (!names.Add(item.Name))
            {
                throw new ModelValidationException($"{at}.name", $"'{item.Name}' is listed twice");
            }

            if (item.Sha256 is not null && !IsLowerHexSha256(item.Sha256))
            {
                throw new ModelValidationException($"{at}.sha256", "must be 64 lower-case hex digits");
            }
        }
    }

    private static void CheckText(string field, string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ModelValidationException(field, "is empty");
        }

        if (text.Length > MaxTextLength)
        {
            throw new ModelValidationException(field, $"is longer than {MaxTextLength} characters");
        }

        foreach (var c in text)
        {
            if (char.IsControl(c))
            {
                throw new ModelValidationException(field, "contains a control character");
            }
        }
    }

    private static bool IsLowerHexSha256(string text)
    {
        if (text.Length != 64)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }
}
