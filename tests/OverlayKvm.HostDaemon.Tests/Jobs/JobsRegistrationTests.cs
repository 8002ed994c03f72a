using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Jobs;
using OverlayKvm.HostDaemon.Tests.Store;

namespace OverlayKvm.HostDaemon.Tests.Jobs;

/// <summary>AddOverlayJobs: validated options, and a Quartz scheduler that really runs the rotation job.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class JobsRegistrationTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public async Task HostedQuartz_RotatesADueGroup_OnItsFirstCheck()
    {
        var store = _temp.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _temp.Time.Advance(TimeSpan.FromDays(2));
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        builder.Services.AddSingleton<IOverlayStore>(store);
        builder.Services.AddSingleton<TimeProvider>(_temp.Time);
        builder.Services.AddOverlayJobs(Config(("Jobs:CredentialRotation:CheckInterval", "00:00:01")));
        using var host = builder.Build();

        await host.StartAsync();
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (store.GetCredentials("web").Count < 2 && DateTime.UtcNow < deadline) await Task.Delay(50);
        }
        finally
        {
            await host.StopAsync();
        }

        Assert.Equal([1, 2], store.GetCredentials("web").Select(c => c.Epoch));
    }

    [Fact]
    public void Validate_CollectsEveryError_WithKeys()
    {
        var services = new ServiceCollection();
        var e = Assert.Throws<OptionsValidationException>(() => services.AddOverlayJobs(Config(
            ("Jobs:CredentialRotation:CheckInterval", "00:00:00"),
            ("Jobs:CredentialRotation:DefaultInterval", "00:00:30"),
            ("Jobs:CredentialRotation:Grace", "02:00:00"),
            ("Jobs:CredentialRotation:Groups:db", "01:00:00"),
            ("Jobs:CredentialRotation:Groups:bad name", "1.00:00:00"))));

        Assert.Contains(e.Failures, f => f.StartsWith("Jobs:CredentialRotation:CheckInterval:", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.StartsWith("Jobs:CredentialRotation:DefaultInterval:", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.StartsWith("Jobs:CredentialRotation:Groups:db:", StringComparison.Ordinal) && f.Contains("grace"));
        Assert.Contains(e.Failures, f => f.Contains("'bad name' is not a legal group name"));
    }

    [Fact]
    public void Defaults_AreValid() =>
        Assert.True(new JobsOptionsValidator().Validate(null, new JobsOptions()).Succeeded);
}
