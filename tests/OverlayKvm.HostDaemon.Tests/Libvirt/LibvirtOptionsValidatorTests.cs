using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Placement;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Libvirt;

public sealed class LibvirtOptionsValidatorTests
{
    [Fact]
    public void Validate_Defaults_Succeed()
    {
        Assert.True(new LibvirtOptionsValidator().Validate(null, new LibvirtOptions()).Succeeded);
        Assert.True(new PlacementOptionsValidator().Validate(null, new PlacementOptions()).Succeeded);
    }

    [Fact]
    public void Validate_EveryProblem_ReportedWithItsPath()
    {
        var options = new LibvirtOptions
        {
            Uri = "qemu",
            AgentSocketDirectory = "relative/dir",
            ShmemSizeMiB = 3,
            KeepAliveIntervalSeconds = 0,
            KeepAliveCount = 0,
            ReconnectInitialDelay = TimeSpan.FromSeconds(2),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        };

        var result = new LibvirtOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        string[] paths = ["Libvirt:Uri", "Libvirt:AgentSocketDirectory", "Libvirt:ShmemSizeMiB", "Libvirt:KeepAliveIntervalSeconds", "Libvirt:KeepAliveCount", "Libvirt:ReconnectMaxDelay"];
        Assert.Equal(paths.Length, result.Failures!.Count());
        foreach (string path in paths)
        {
            Assert.Contains(result.Failures!, f => f.StartsWith(path + ":", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void AddLibvirtIntegration_InvalidConfiguration_FailsWhenOptionsAreRead()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Libvirt:ShmemSizeMiB"] = "6",
            ["Placement:LocalCapacity"] = "-1",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IOverlayStore>(new InMemoryOverlayStore());
        services.AddLibvirtIntegration(configuration);
        using var provider = services.BuildServiceProvider();

        var libvirt = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<LibvirtOptions>>().Value);
        Assert.Contains("Libvirt:ShmemSizeMiB: 6 must be a power of two", libvirt.Message);
        var placement = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PlacementOptions>>().Value);
        Assert.Contains("Placement:LocalCapacity: -1 must not be negative", placement.Message);
    }

    [Fact]
    public void AddLibvirtIntegration_RegistersHandlersOnce_AndKeepsReplacements()
    {
        var services = new ServiceCollection();
        services.AddSingleton(TimeProvider.System);
        var journal = new HookJournal();
        services.AddSingleton(journal);
        services.AddLibvirtIntegration(new ConfigurationBuilder().Build());
        services.AddLibvirtIntegration(new ConfigurationBuilder().Build());

        Assert.Single(services, d => d.ServiceType == typeof(QemuHookHandler));
        // One of each background service: the event feed, the run-state recorder and the address learner.
        Assert.Single(services, d => d.ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService) && d.ImplementationType == typeof(LibvirtEventService));
        Assert.Single(services, d => d.ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService) && d.ImplementationType == typeof(DomainRunStateRecorder));
        Assert.Single(services, d => d.ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService) && d.ImplementationType == typeof(DomainAddressLearner));
        Assert.Equal(3, services.Count(d => d.ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService)));
        Assert.Same(journal, Assert.Single(services, d => d.ServiceType == typeof(HookJournal)).ImplementationInstance);
    }
}
