using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Spectre.Console;

namespace OverlayKvm.Cli.Output;

/// <summary>Writes results either as tables for people or, with <c>--json</c>, as indented JSON for scripts.</summary>
internal sealed class Printer(bool json, TextWriter output)
{
    // Relaxed escaping: this is for a terminal or a file, not for embedding in HTML ("+00:00", not "\u002B00:00").
    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public bool Json { get; } = json;

    public void WriteJson<T>(T value, JsonTypeInfo<T> type)
    {
        // Re-write through JsonDocument so the source-generated (compact) shape prints indented. A Utf8JsonWriter,
        // not JsonSerializer with options: that overload reflects, and overlayctl is Native AOT.
        using var doc = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(value, type));
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Indented)) doc.RootElement.WriteTo(writer);
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    /// <summary>A command's answer: <paramref name="value"/> as JSON with --json, else <paramref name="text"/> as written for people.</summary>
    public void Reply<T>(T value, JsonTypeInfo<T> type, string text)
    {
        if (Json) WriteJson(value, type);
        else Write(text);
    }

    /// <summary><see cref="Reply{T}"/> for a one-line text (the line end is added).</summary>
    public void ReplyLine<T>(T value, JsonTypeInfo<T> type, string line) => Reply(value, type, line + Environment.NewLine);

    public void WriteTable(string[] headers, IEnumerable<string[]> rows)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var h in headers) table.AddColumn(new TableColumn(Markup.Escape(h)));
        foreach (var row in rows)
        {
            var cells = new Markup[row.Length];
            for (int i = 0; i < row.Length; i++) cells[i] = new Markup(Markup.Escape(row[i]));
            table.AddRow(cells);
        }
        Console().Write(table);
    }

    public void WriteFields(IEnumerable<(string Name, string Value)> fields)
    {
        var grid = new Grid().AddColumn().AddColumn();
        foreach (var (name, value) in fields) grid.AddRow(new Markup($"[bold]{Markup.Escape(name)}[/]"), new Markup(Markup.Escape(value)));
        Console().Write(grid);
    }

    public void WriteLine(string text) => output.WriteLine(text);

    public void Write(string text) => output.Write(text);

    private IAnsiConsole Console()
    {
        bool terminal = ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            // Tables stay plain when written to a pipe or a file (scripts, tests).
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = ColorSystemSupport.Detect,
        });
        // A pipe has no width: don't wrap socket paths and addresses at 80 columns.
        if (!terminal) console.Profile.Width = 200;
        return console;
    }
}
