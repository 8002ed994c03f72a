namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// What a test topology created, undone in reverse order (apps before agents, agents before namespaces and
/// daemons), thread-safe to add to. Every item is disposed even when an earlier one throws; the failures are
/// reported together afterwards, so a cleanup problem is neither hidden nor able to leave the rest behind.
/// </summary>
internal sealed class CleanupStack
{
    private readonly List<object> _items = [];

    public T Track<T>(T item)
        where T : IDisposable
    {
        lock (_items)
        {
            _items.Add(item);
        }
        return item;
    }

    public T TrackAsync<T>(T item)
        where T : IAsyncDisposable
    {
        lock (_items)
        {
            _items.Add(item);
        }
        return item;
    }

    /// <summary>Disposes everything tracked, newest first; <paramref name="expected"/> failures (e.g. a channel the peer already closed) are not reported.</summary>
    public async ValueTask DisposeAllAsync(Func<Exception, bool>? expected = null)
    {
        object[] items;
        lock (_items)
        {
            items = [.. _items];
            _items.Clear();
        }
        var failures = new List<Exception>();
        for (int i = items.Length - 1; i >= 0; i--)
        {
            try
            {
                if (items[i] is IAsyncDisposable a)
                {
                    await a.DisposeAsync();
                }
                else
                {
                    ((IDisposable)items[i]).Dispose();
                }
            }
            catch (Exception e)
            {
                if (expected?.Invoke(e) != true)
                {
                    failures.Add(e);
                }
            }
        }
        if (failures.Count > 0)
        {
            throw new AggregateException("cleaning up a test topology failed", failures);
        }
    }
}
