using System.Text.RegularExpressions;
using OverlayKvm.Core.Model.Validation;

namespace OverlayKvm.GuestAgent.Services;

/// <summary>
/// Reads <c>/etc/overlay-agent/apps.d/*.conf</c>: one app per file, <c>key=value</c> lines (<c>#</c> comments and
/// blank lines ignored). Keys: <c>app</c> (required, an app name), <c>unit</c> (required, a <c>.service</c> unit:
/// the drop-in adds an <c>ExecStartPre=</c>, which only services have), <c>group</c> (when the app name exists in
/// more than one group). A bad file is skipped with one message per bad line naming file and line; the others
/// still count. Files are read in name order so the outcome does not depend on the directory's order.
/// </summary>
internal static partial class AppsDirectory
{
    public const string DefaultPath = "/etc/overlay-agent/apps.d";

    /// <summary>Bounded: apps.d is an operator's directory, but a huge file there must not stall boot (the generator runs early).</summary>
    public const int MaxFileBytes = 64 * 1024;

    public static AppsDirectoryContent Read(string directory)
    {
        var apps = new List<ServiceApp>();
        var errors = new List<string>();
        if (!Directory.Exists(directory))
        {
            return new AppsDirectoryContent(apps, errors);
        }
        string[] files = Directory.GetFiles(directory, "*.conf");
        Array.Sort(files, StringComparer.Ordinal);
        var units = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in files)
        {
            ServiceApp? app = ReadFile(file, errors);
            if (app is null)
            {
                continue;
            }
            if (units.TryGetValue(app.Unit, out string? first))
            {
                errors.Add($"{file}: unit {app.Unit} is already declared by {first} (one app per unit)");
                continue;
            }
            units.Add(app.Unit, file);
            apps.Add(app);
        }
        return new AppsDirectoryContent(apps, errors);
    }

    internal static ServiceApp? ReadFile(string file, List<string> errors)
    {
        var info = new FileInfo(file);
        if (info.Length > MaxFileBytes)
        {
            errors.Add($"{file}: {info.Length} bytes, more than {MaxFileBytes}: skipped");
            return null;
        }
        return Parse(file, File.ReadAllLines(file), errors);
    }

    internal static ServiceApp? Parse(string file, IReadOnlyList<string> lines, List<string> errors)
    {
        int errorsBefore = errors.Count;
        string? app = null, unit = null, group = null;
        for (int i = 0; i < lines.Count; i++)
        {
            string line = lines[i].Trim();
            string where = $"{file}:{i + 1}";
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            int eq = line.IndexOf('=');
            if (eq <= 0)
            {
                errors.Add($"{where}: expected key=value, got '{Printable(line)}'");
                continue;
            }
            string key = line[..eq].Trim();
            string value = line[(eq + 1)..].Trim();
            switch (key)
            {
                case "app":
                    app = CheckName(where, "app", value, errors) ?? app;
                    break;
                case "group":
                    group = CheckName(where, "group", value, errors) ?? group;
                    break;
                case "unit":
                    if (UnitRegex().IsMatch(value))
                    {
                        unit = value;
                    }
                    else
                    {
                        errors.Add($"{where}: unit '{Printable(value)}' is not a service unit name (letters, digits, ':-_.@\\', ending in .service)");
                    }
                    break;
                default:
                    errors.Add($"{where}: unknown key '{Printable(key)}' (app, unit, group)");
                    break;
            }
        }
        if (app is null && errors.Count == errorsBefore)
        {
            errors.Add($"{file}: no app= line");
        }
        if (unit is null && errors.Count == errorsBefore)
        {
            errors.Add($"{file}: no unit= line");
        }
        return errors.Count == errorsBefore && app is not null && unit is not null ? new ServiceApp(app, group, unit, file) : null;
    }

    private static string? CheckName(string where, string kind, string value, List<string> errors)
    {
        if (NameRules.IsValid(value))
        {
            return value;
        }
        errors.Add($"{where}: {kind} '{Printable(value)}' is not a legal name ({NameRules.Pattern})");
        return null;
    }

    private static string Printable(string s)
    {
        string clipped = s.Length > 80 ? s[..80] + "..." : s;
        return string.Create(clipped.Length, clipped, static (span, src) =>
        {
            for (int i = 0; i < src.Length; i++)
            {
                span[i] = char.IsControl(src[i]) ? '?' : src[i];
            }
        });
    }

    // systemd's unit name charset (unit-name.c: alphanumerics and ":-_.\"), "@" for instances, at most 255 characters.
    [GeneratedRegex(@"^[A-Za-z0-9:_.\\@-]{1,247}\.service\z")]
    private static partial Regex UnitRegex();
}
