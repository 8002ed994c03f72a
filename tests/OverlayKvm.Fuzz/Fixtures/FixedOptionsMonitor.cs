using Microsoft.Extensions.Options;

namespace OverlayKvm.Fuzz.Fixtures;

/// <summary>Options that never change (the targets run one configuration).</summary>
internal sealed class FixedOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
