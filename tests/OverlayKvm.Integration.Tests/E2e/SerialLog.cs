namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>The guest's serial console as virtlogd writes it to a file.</summary>
internal sealed class SerialLog(string path)
{
    public string Path { get; } = path;

    public string ReadAll()
    {
        if (!File.Exists(Path)) return "";
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Waits until a line containing <paramref name="text"/> appears; the timeout error quotes the log's tail.</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var content = ReadAll();
            foreach (var line in content.Split('\n'))
            {
                if (line.Contains(text, StringComparison.Ordinal)) return line.TrimEnd('\r');
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"serial log {Path} has no line containing '{text}' after {timeout.TotalSeconds} s; its end:\n{Tail(content, 1500)}");
            await Task.Delay(100);
        }
    }

    public static string Tail(string text, int chars) => text.Length <= chars ? text : text[^chars..];
}
