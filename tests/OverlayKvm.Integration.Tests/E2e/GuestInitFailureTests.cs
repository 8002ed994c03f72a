using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// init facing a bad setup: it must say what is wrong on the console and still end the boot (power off), never
/// hang a domain that a host would then have to destroy.
/// </summary>
[Collection("libvirtd")]
public sealed class GuestInitFailureTests : IClassFixture<GuestE2eFixture>
{
    private readonly GuestE2eFixture _fixture;
    private readonly ITestOutputHelper _output;

    public GuestInitFailureTests(GuestE2eFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
        foreach (var line in fixture.Narration) output.WriteLine("[fixture] " + line);
    }

    [Fact]
    public async Task Boot_NoPortOfThatNameAndBadAddress_ReportsBothAndPowersOff()
    {
        await using var domain = await TestDomain.DefineAsync(
            new TestDomainSpec(_fixture.ProbeImage) { ExtraCmdline = "overlaykvm.port=org.example.missing overlaykvm.ip=not-an-address" },
            _output.WriteLine);
        var watch = Stopwatch.StartNew();
        await domain.StartAsync();

        await domain.Serial.WaitForLineAsync("overlaykvm-init: no virtio-serial port named org.example.missing", TimeSpan.FromSeconds(60));
        await domain.Serial.WaitForLineAsync("overlaykvm-init: configuring eth0 with not-an-address failed", TimeSpan.FromSeconds(30));
        await domain.Serial.WaitForLineAsync("overlaykvm-probe: no agent port at /dev/virtio-ports/org.overlaykvm.agent.0", TimeSpan.FromSeconds(30));
        await domain.Serial.WaitForLineAsync("overlaykvm-init: overlaykvm-probe exited with status 2", TimeSpan.FromSeconds(30));
        await domain.WaitShutOffAsync(TimeSpan.FromSeconds(30));
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"virsh start -> shut off: {watch.Elapsed.TotalSeconds:F2} s"));
        _output.WriteLine(SerialLog.Tail(domain.Serial.ReadAll(), 1500));
    }
}
