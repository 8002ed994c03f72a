namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// The event service's current connection, for request handlers that need libvirt (attach). Handlers borrow it
/// with <see cref="Use{T}"/>, which keeps the event service from disposing it underneath them.
/// </summary>
internal sealed class LibvirtConnectionHolder
{
    private readonly ReaderWriterLockSlim _lock = new();
    private LibvirtConnection? _current;

    /// <summary>True while a live connection is installed.</summary>
    public bool IsConnected
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                return _current is { IsAlive: true };
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <exception cref="LibvirtUnavailableException">No connection is installed right now.</exception>
    public T Use<T>(Func<LibvirtConnection, T> action)
    {
        _lock.EnterReadLock();
        try
        {
            if (_current is null)
            {
                throw new LibvirtUnavailableException("overlayd is not connected to libvirt right now (reconnecting); retry shortly");
            }
            return action(_current);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Installs <paramref name="connection"/> (or none) and returns the previous one for the caller to dispose.</summary>
    public LibvirtConnection? Swap(LibvirtConnection? connection)
    {
        _lock.EnterWriteLock();
        try
        {
            var previous = _current;
            _current = connection;
            return previous;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }
}

/// <summary>overlayd has no libvirt connection at the moment.</summary>
public sealed class LibvirtUnavailableException(string message) : Exception(message);
