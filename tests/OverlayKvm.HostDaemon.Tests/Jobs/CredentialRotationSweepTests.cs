using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Jobs;
using OverlayKvm.HostDaemon.Tests.Store;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Jobs;

/// <summary>Scheduled rotation against a real store and a hand-moved clock.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CredentialRotationSweepTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    private CredentialRotationSweep Sweep(Core.Store.IOverlayStore store, CredentialRotationOptions options) =>
        new(store, _temp.Time, new StaticOptionsMonitor<JobsOptions>(new JobsOptions { CredentialRotation = options }), NullLogger<CredentialRotationSweep>.Instance);

    [Fact]
    public void Run_RotatesOnlyDueGroups_PerGroupIntervalsAndZeroHonoured()
    {
        using var store = _temp.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        store.DefineGroup("db", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed);
        store.DefineGroup("frozen", IPNetwork.Parse("10.3.0.0/16"), ProtectionLevel.Sealed);
        var options = new CredentialRotationOptions
        {
            DefaultInterval = TimeSpan.FromHours(1),
            Groups = new(StringComparer.Ordinal) { ["db"] = TimeSpan.FromMinutes(10), ["frozen"] = TimeSpan.Zero },
            Grace = TimeSpan.FromMinutes(2),
        };
        var sweep = Sweep(store, options);

        Assert.Empty(sweep.Run());
        _temp.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(["db"], sweep.Run());
        Assert.Empty(sweep.Run()); // db's new epoch is fresh again
        _temp.Time.Advance(TimeSpan.FromMinutes(50));
        Assert.Equal(["db", "web"], sweep.Run());

        var web = store.GetCredentials("web");
        Assert.Equal([1, 2], web.Select(c => c.Epoch));
        Assert.Equal(_temp.Time.GetUtcNow() + TimeSpan.FromMinutes(2), web[0].RetiresAt);
        Assert.Equal([1], store.GetCredentials("frozen").Select(c => c.Epoch));
        Assert.Equal(3, store.GetCredentials("db")[^1].Epoch);
    }

    [Fact]
    public void Run_Disabled_DoesNothing()
    {
        using var store = _temp.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        var version = store.CurrentVersion();
        _temp.Time.Advance(TimeSpan.FromDays(30));

        Assert.Empty(Sweep(store, new CredentialRotationOptions { Enabled = false }).Run());
        Assert.Equal(version, store.CurrentVersion());
    }
}
