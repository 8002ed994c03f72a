using System.Globalization;

namespace OverlayKvm.RingStress;

/// <summary>Command line of overlay-ring-stress: <c>MODE --key value ...</c>; unknown or malformed keys are errors.</summary>
internal sealed class StressArguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    private StressArguments(string mode) => Mode = mode;

    public string Mode { get; }

    public static StressArguments Parse(string[] args)
    {
        if (args.Length == 0)
        {
            throw new ArgumentException("usage: overlay-ring-stress init|produce|consume --region PATH [options]");
        }

        var parsed = new StressArguments(args[0]);
        for (int i = 1; i < args.Length; i++)
        {
            string key = args[i];
            if (!key.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"argument {i}: expected --option, got '{key}'");
            }

            bool isFlag = i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal);
            parsed._values[key[2..]] = isFlag ? "true" : args[++i];
        }

        return parsed;
    }

    public string Text(string key) =>
        _values.TryGetValue(key, out string? v) ? v : throw new ArgumentException($"missing --{key}");

    public string? OptionalText(string key) => _values.GetValueOrDefault(key);

    public long Number(string key, long? fallback = null)
    {
        if (!_values.TryGetValue(key, out string? v))
        {
            return fallback ?? throw new ArgumentException($"missing --{key}");
        }

        return long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n)
            ? n
            : throw new ArgumentException($"--{key}: '{v}' is not an integer");
    }

    public bool Flag(string key) => _values.ContainsKey(key);
}
