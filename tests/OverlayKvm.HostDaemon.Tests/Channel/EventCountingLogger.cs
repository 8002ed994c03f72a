using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OverlayKvm.HostDaemon.Tests.Channel;

/// <summary>A logger that counts the messages it receives by event id, and keeps their text for failure messages.</summary>
internal sealed class EventCountingLogger : ILogger
{
    private readonly ConcurrentDictionary<int, int> _counts = new();
    private readonly ConcurrentQueue<string> _lines = new();

    public int Count(int eventId) => _counts.GetValueOrDefault(eventId);

    public string Text => string.Join(Environment.NewLine, _lines);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        _counts.AddOrUpdate(eventId.Id, 1, (_, n) => n + 1);
        _lines.Enqueue($"{logLevel} {eventId.Id}: {formatter(state, exception)}");
    }
}
