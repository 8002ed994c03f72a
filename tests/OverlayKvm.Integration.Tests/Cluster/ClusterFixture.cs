using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// One etcd and one two-host topology for all cluster tests (building them costs most of a test's time on a
/// 2-core machine). Every test leaves the topology as it found it: both overlayd running, every agent on its newest
/// document. The lease TTL is 3 s so that the expiry test waits seconds, not tens of them.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const int LeaseTtlSeconds = 3;

    private ClusterStore? _store;
    private ClusterTopology? _topology;

    internal ClusterTopology Topology => _topology ?? throw new InvalidOperationException("the cluster topology did not start (see the first test's failure)");

    internal ClusterStore Store => _store ?? throw new InvalidOperationException("the cluster's etcd did not start (see the first test's failure)");

    public async Task InitializeAsync()
    {
        _store = await ClusterStore.StartAsync();
        _topology = await ClusterTopology.CreateAsync(_store.DaemonArguments, LeaseTtlSeconds);
    }

    public async Task DisposeAsync()
    {
        if (_topology is not null) await _topology.DisposeAsync();
        if (_store is not null) await _store.DisposeAsync();
    }

    /// <summary>Before a test: both hosts serve and every agent runs its newest document (a previous test may have restarted host B).</summary>
    internal async Task ReadyAsync(ITestOutputHelper output)
    {
        try
        {
            await Topology.WaitAppliedAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            output.WriteLine(Topology.Logs());
            throw;
        }
    }
}

/// <summary>The cluster tests share <see cref="ClusterFixture"/> and run alone: they move MBs through five namespaces' agents.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster-netns";
}
