using OverlayKvm.Core.Store;
using Microsoft.Extensions.Time.Testing;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Store.Contract;

/// <summary>
/// What a store contract suite needs from the store under test: fresh instances on one shared, private state
/// (two instances = two daemons), a hand-moved clock, and a look at what is really stored.
/// </summary>
public interface IStoreHarness : IDisposable
{
    FakeTimeProvider Time { get; }

    /// <summary>A new store instance on this test's state; disposed with the harness.</summary>
    IOverlayStore Open();

    /// <summary>Waits until <paramref name="store"/> has seen <paramref name="version"/> (etcd: via its watch; SQLite: at once).</summary>
    void WaitForVersion(IOverlayStore store, long version);

    /// <summary>Group key epochs really stored (retired ones included), read past the store.</summary>
    int CountStoredCredentials();
}

/// <summary>The embedded SQLite store on a temp file.</summary>
internal sealed class SqliteStoreHarness : IStoreHarness
{
    private readonly TempStore _temp = new();

    public FakeTimeProvider Time => _temp.Time;

    public IOverlayStore Open() => _temp.Open();

    public void WaitForVersion(IOverlayStore store, long version) =>
        Assert.True(store.CurrentVersion() >= version, $"SQLite reads the file: version {version} must be visible at once");

    public int CountStoredCredentials() => (int)(long)_temp.QueryScalar("SELECT COUNT(*) FROM credentials")!;

    public void Dispose() => _temp.Dispose();
}
