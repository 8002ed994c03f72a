using System.Text.RegularExpressions;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Model.Validation;

/// <summary>
/// Names of groups, apps, domains and hosts end up in file names (sockets, /dev/shm regions), libvirt XML,
/// shell sessions and logs, so they are restricted to a charset that is safe in all of them:
/// <c>^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\z</c> (1–64 characters, no leading dot, dash or underscore).
/// </summary>
public static partial class NameRules
{
    /// <summary>The pattern every name must match, for error messages and documentation.</summary>
    // \z, not $: "$" also matches before a trailing newline, which would let "web" + newline through.
    public const string Pattern = @"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\z";

    public static bool IsValid(string? name) => name is not null && NameRegex().IsMatch(name);

    /// <summary>Throws <see cref="ModelValidationException"/> naming <paramref name="kind"/> when <paramref name="name"/> is illegal.</summary>
    /// <param name="kind">"group", "app", "domain" or "host": the entity the name belongs to.</param>
    public static void Check(string kind, string? name)
    {
        if (IsValid(name))
        {
            return;
        }

        var shown = name is null ? "(null)" : $"'{Printable(name)}'";
        throw new ModelValidationException($"{kind} name", $"{shown} is not a legal name (1-64 characters matching {Pattern})");
    }

    /// <summary>Control characters in a hostile name must not reach a terminal or a log line verbatim.</summary>
    private static string Printable(string name)
    {
        var clipped = name.Length > 80 ? name[..80] + "..." : name;
        return string.Create(clipped.Length, clipped, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();
}
