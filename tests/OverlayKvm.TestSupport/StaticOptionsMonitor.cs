using Microsoft.Extensions.Options;

namespace OverlayKvm.TestSupport;

/// <summary>Options a test sets and changes by hand.</summary>
public sealed class StaticOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue { get; set; } = value;

    public T Get(string? name) => CurrentValue;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
