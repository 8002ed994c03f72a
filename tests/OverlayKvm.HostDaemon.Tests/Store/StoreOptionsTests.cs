using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Store;

namespace OverlayKvm.HostDaemon.Tests.Store;

public sealed class StoreOptionsTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Defaults_PathUnderVarLibOverlaykvm_Valid()
    {
        var options = new StoreOptions();

        Assert.Equal("/var/lib/overlaykvm/overlay.db", options.Path);
        Assert.True(new StoreOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Validate_SeveralProblems_ReportsEveryOneWithItsPath()
    {
        var result = new StoreOptionsValidator().Validate(null, new StoreOptions { Path = "relative/dir/", LocalHost = "bad host" });

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Contains(failures, f => f.StartsWith("Store.Path: 'relative/dir/' is not an absolute path", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Store.Path: 'relative/dir/' names a directory", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Store.LocalHost: 'bad host'", StringComparison.Ordinal));
        Assert.Equal(3, failures.Count);
    }

    [Fact]
    public void AddSqliteOverlayStore_BindsSectionAndResolvesWorkingStore()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Store:Path"] = _temp.DatabasePath, ["Store:LocalHost"] = "node-7" })
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSqliteOverlayStore();

        using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IOverlayStore>();
        store.DefineGroup("web", System.Net.IPNetwork.Parse("10.1.0.0/16"), OverlayKvm.Core.Model.ProtectionLevel.Sealed);
        store.DefineApplication("web", "a", null, "vm1", []);

        Assert.IsType<SqliteOverlayStore>(store);
        Assert.True(File.Exists(_temp.DatabasePath));
        Assert.Equal("node-7", store.GetDomain("vm1")!.Host);
        Assert.Single(provider.GetRequiredService<DomainConfigBuilder>().Build("vm1", includeSecrets: false).Apps);
    }

    [Fact]
    public void AddSqliteOverlayStore_InvalidOptions_FailWithAllMessages()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Store:Path"] = "", ["Store:LocalHost"] = "-x" })
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSqliteOverlayStore();
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<StoreOptions>>().Value);

        Assert.Equal(2, error.Failures.Count());
        Assert.Contains(error.Failures, f => f.StartsWith("Store.Path: is empty", StringComparison.Ordinal));
    }
}
