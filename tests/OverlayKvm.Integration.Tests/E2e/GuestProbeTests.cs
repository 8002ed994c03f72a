using System.Globalization;
using System.Security.Cryptography;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// Boots the guest image (built without an agent, so init runs the probe) in real TCG domains and proves the
/// two paths the guest agent will use: the virtio-serial host channel found by name and the ivshmem BAR2.
/// </summary>
[Collection("libvirtd")]
public sealed class GuestProbeTests : IClassFixture<GuestE2eFixture>
{
    private readonly GuestE2eFixture _fixture;
    private readonly ITestOutputHelper _output;

    public GuestProbeTests(GuestE2eFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
        foreach (var line in fixture.Narration) output.WriteLine("[fixture] " + line);
    }

    private TestDomainSpec Spec => new(_fixture.ProbeImage);

    [Fact]
    public async Task ProbeBoot_ChannelRoundTrip_HostLineEchoedToSerialLog()
    {
        await using var domain = await TestDomain.DefineAsync(Spec, _output.WriteLine);
        var boot = await ProbeBoot.StartAsync(domain);
        await using var channel = boot.Channel;
        _output.WriteLine($"hello: {boot.Hello}");
        PrintTimes(boot, domain);

        Assert.StartsWith("hello ", boot.Hello);
        Assert.StartsWith("/sys/bus/pci/devices/", boot.Field("region"));
        Assert.EndsWith("/resource2", boot.Field("region"));
        // The Native AOT agent's libraries are in the image and resolve each other.
        Assert.Matches(@"^\d+\.\d+$", boot.Field("ldso"));
        Assert.Equal("ok", boot.Field("ssl"));

        var token = "marker-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        Assert.Equal("echoed " + token, await channel.RequestAsync("echo " + token, ProbeBoot.ReplyTimeout));
        var serialLine = await domain.Serial.WaitForLineAsync("overlaykvm-probe: echo " + token, TimeSpan.FromSeconds(20));
        _output.WriteLine("serial: " + serialLine);

        Assert.Equal("error unknown command: no-such-command", await channel.RequestAsync("no-such-command", ProbeBoot.ReplyTimeout));

        var exitWatch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal("bye", await channel.RequestAsync("exit 0", ProbeBoot.ReplyTimeout));
        await domain.Serial.WaitForLineAsync("overlaykvm-probe exited with status 0", TimeSpan.FromSeconds(20));
        await domain.WaitShutOffAsync(TimeSpan.FromSeconds(30));
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"probe exit -> domain shut off: {exitWatch.Elapsed.TotalSeconds:F2} s"));
    }

    [Fact]
    public async Task ProbeBoot_IvshmemRegion_MarkersPassBothWays()
    {
        const int shmemMiB = 4;
        const long hostMarkerOffset = 4096, liveMarkerOffset = 12288, guestMarkerOffset = 8192;
        await using var domain = await TestDomain.DefineAsync(Spec with { ShmemMiB = shmemMiB }, _output.WriteLine);

        // Pre-created the way the daemon will own the layout: exact size, libvirt-qemu, 0600.
        var hostMarker = RandomNumberGenerator.GetBytes(16);
        ShmBackingFile.Create(domain.ShmemName, shmemMiB * 1024L * 1024, hostMarker, hostMarkerOffset);

        var boot = await ProbeBoot.StartAsync(domain);
        await using var channel = boot.Channel;
        PrintTimes(boot, domain);

        Assert.Equal("shm-data " + Convert.ToHexStringLower(hostMarker),
            await channel.RequestAsync($"shm-read {hostMarkerOffset} 16", ProbeBoot.ReplyTimeout));

        // Written while the guest runs: the region is shared memory, not a copy taken at start.
        var liveMarker = RandomNumberGenerator.GetBytes(16);
        ShmBackingFile.Write(domain.ShmemName, liveMarkerOffset, liveMarker);
        Assert.Equal("shm-data " + Convert.ToHexStringLower(liveMarker),
            await channel.RequestAsync($"shm-read {liveMarkerOffset} 16", ProbeBoot.ReplyTimeout));

        var guestMarker = RandomNumberGenerator.GetBytes(16);
        Assert.Equal("shm-written 16",
            await channel.RequestAsync($"shm-write {guestMarkerOffset} {Convert.ToHexStringLower(guestMarker)}", ProbeBoot.ReplyTimeout));
        Assert.Equal(guestMarker, ShmBackingFile.Read(domain.ShmemName, guestMarkerOffset, 16));

        // Out of range is refused by the probe, not a crash of the guest.
        var refused = await channel.RequestAsync($"shm-read {shmemMiB * 1024 * 1024 - 8} 16", ProbeBoot.ReplyTimeout);
        Assert.StartsWith("error shm-read", refused);

        Assert.Equal("bye", await channel.RequestAsync("exit 0", ProbeBoot.ReplyTimeout));
        await domain.WaitShutOffAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ProbeBoot_TimeToFirstLine_PrintedForThreeBoots()
    {
        var firstLines = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            await using var domain = await TestDomain.DefineAsync(Spec, _output.WriteLine);
            var boot = await ProbeBoot.StartAsync(domain);
            await using var channel = boot.Channel;
            PrintTimes(boot, domain);
            Assert.StartsWith("hello ", boot.Hello);
            firstLines.Add(boot.FirstLine.TotalSeconds);
            Assert.Equal("bye", await channel.RequestAsync("exit 0", ProbeBoot.ReplyTimeout));
            await domain.WaitShutOffAsync(TimeSpan.FromSeconds(30));
        }
        firstLines.Sort();
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"virsh start -> probe's first line on the port: median {firstLines[1]:F2} s (min {firstLines[0]:F2}, max {firstLines[2]:F2}), kernel {_fixture.ProbeImage.KernelFormat}"));
    }

    [Fact]
    public async Task ProbeBoot_OnIsolatedNetwork_Eth0TakesAddressFromCmdline()
    {
        await using var network = await IsolatedNetwork.CreateAsync(_output.WriteLine);
        const string address = "192.0.2.11/24"; // TEST-NET-1, on a bridge with no host address
        await using var domain = await TestDomain.DefineAsync(
            Spec with { NetworkName = network.Name, ExtraCmdline = "overlaykvm.ip=" + address }, _output.WriteLine);
        var boot = await ProbeBoot.StartAsync(domain);
        await using var channel = boot.Channel;
        PrintTimes(boot, domain);

        Assert.Equal("net " + address, (await channel.RequestAsync("net", ProbeBoot.ReplyTimeout)).TrimEnd());
        await domain.Serial.WaitForLineAsync("overlaykvm-init: eth0 " + address, TimeSpan.FromSeconds(10));

        Assert.Equal("bye", await channel.RequestAsync("exit 0", ProbeBoot.ReplyTimeout));
        await domain.WaitShutOffAsync(TimeSpan.FromSeconds(30));
    }

    private void PrintTimes(ProbeBoot boot, TestDomain domain) =>
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"virsh start returned after {boot.VirshStart.TotalSeconds:F2} s; first line on the port {boot.FirstLine.TotalSeconds:F2} s after virsh start; guest uptime at hello {boot.GuestUptimeSeconds:F2} s; init: {InitLine(domain)}"));

    /// <summary>init's first console line, "up S s after kernel start": the kernel's share of the boot.</summary>
    private static string InitLine(TestDomain domain)
    {
        foreach (var line in domain.Serial.ReadAll().Split('\n'))
        {
            if (line.StartsWith("overlaykvm-init: up ", StringComparison.Ordinal)) return line["overlaykvm-init: ".Length..].TrimEnd('\r');
        }
        return "(no init line yet)";
    }
}
