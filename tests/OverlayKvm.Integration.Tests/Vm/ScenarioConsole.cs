namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>
/// Reads the guest scenario's results (packaging/guest-image/scenarios/two-apps.sh) from a VM's serial console:
/// "vm-scenario: ..." lines, their "key=value" fields. A missing line or field fails the test naming what is missing.
/// </summary>
internal static class ScenarioConsole
{
    private const string Prefix = "vm-scenario: ";

    /// <summary>Every "vm-scenario: ..." line, from the prefix on (the kernel may interleave text before it).</summary>
    public static List<string> Lines(string serial)
    {
        var lines = new List<string>();
        foreach (var raw in serial.Split('\n'))
        {
            var l = raw.TrimEnd('\r');
            var at = l.IndexOf(Prefix, StringComparison.Ordinal);
            if (at >= 0) lines.Add(l[at..]);
        }
        return lines;
    }

    /// <summary>The first scenario line starting with <paramref name="prefix"/>.</summary>
    public static string Line(string serial, string prefix)
    {
        foreach (var l in Lines(serial))
            if (l.StartsWith(prefix, StringComparison.Ordinal)) return l;
        throw new Xunit.Sdk.XunitException($"no line starting with '{prefix}' on the console; its end:\n{E2e.SerialLog.Tail(serial, 2000)}");
    }

    /// <summary>The value of the word <c>key=value</c> in <paramref name="line"/>.</summary>
    public static string Field(string line, string key)
    {
        foreach (var word in line.Split(' '))
            if (word.StartsWith(key + "=", StringComparison.Ordinal)) return word[(key.Length + 1)..];
        throw new Xunit.Sdk.XunitException($"no {key}= in '{line}'");
    }
}
