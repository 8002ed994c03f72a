namespace OverlayKvm.HostDaemon.Tests.Store.Contract;

/// <summary>What every store contract suite shares: the harness of the store under test, disposed after each test.</summary>
public abstract class StoreContract(IStoreHarness harness) : IDisposable
{
    protected IStoreHarness Harness { get; } = harness;

    public void Dispose() => Harness.Dispose();
}
