using Xunit.Abstractions;
using System.Text;
using OverlayKvm.Integration.Tests.Daemon;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// The image built with --agent: init must start /bin/overlay-agent (not the probe) with the arguments from
/// overlaykvm.agent="…" and the environment the real agent relies on, and power the guest off when it exits.
/// A shell script stands in for the agent, reporting what it was given over the agent port.
/// </summary>
[Collection("libvirtd")]
public sealed class GuestAgentLaunchTests : IClassFixture<GuestE2eFixture>
{
    private static readonly string ImageDir = Path.Combine(GuestImage.CacheRoot, "e2e-fake-agent");
    private static readonly string NativeImageDir = Path.Combine(GuestImage.CacheRoot, "e2e-native-agent");

    // Fixed content: the image's input stamp includes the agent's hash, so an unchanged script reuses the image.
    private const string FakeAgent = """
        #!/bin/sh
        # Stand-in for overlay-agent in GuestAgentLaunchTests: report argv and environment, wait for one line, exit 7.
        exec 3<>"$OVERLAYKVM_AGENT_PORT" || exit 2
        tun=no; [ -c /dev/net/tun ] && tun=yes
        echo "agent argc=$# args=$* port=$OVERLAYKVM_AGENT_PORT region=$OVERLAYKVM_ENGINE_REGION tun=$tun ld=$LD_LIBRARY_PATH" >&3
        read -r line <&3
        echo "fake-agent got: $line" > /dev/console
        exit 7
        """;

    private readonly GuestE2eFixture _fixture;
    private readonly ITestOutputHelper _output;

    public GuestAgentLaunchTests(GuestE2eFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
        foreach (var line in fixture.Narration) output.WriteLine("[fixture] " + line);
    }

    [Fact]
    public async Task AgentImage_Boot_InitStartsAgentWithCmdlineArgsAndPowersOffWhenItExits()
    {
        Directory.CreateDirectory(ImageDir);
        var agentPath = Path.Combine(ImageDir, "fake-overlay-agent.sh");
        await File.WriteAllTextAsync(agentPath, FakeAgent.ReplaceLineEndings("\n") + "\n", new UTF8Encoding(false));
        File.SetUnixFileMode(agentPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var image = await GuestImage.BuildAsync(ImageDir, agentPath, _output.WriteLine);

        await using var domain = await TestDomain.DefineAsync(
            // '*' and '$(…)' must reach the agent as words: no globbing, no command substitution by init.
            new TestDomainSpec(image) { ExtraCmdline = "overlaykvm.agent=\"run --config /etc/overlaykvm/agent.json --verbose * $(poweroff)\"" },
            _output.WriteLine);
        var boot = await ProbeBoot.StartAsync(domain);
        await using var channel = boot.Channel;
        _output.WriteLine("agent reported: " + boot.Hello);

        Assert.StartsWith("agent argc=6 args=run --config /etc/overlaykvm/agent.json --verbose * $(poweroff) ", boot.Hello);
        Assert.Contains(" port=/dev/virtio-ports/org.overlaykvm.agent.0 ", boot.Hello);
        Assert.Matches(@" region=/sys/bus/pci/devices/[0-9a-f:.]+/resource2 ", boot.Hello);
        Assert.Contains(" tun=yes ", boot.Hello);
        Assert.EndsWith(" ld=/lib/x86_64-linux-gnu", boot.Hello);

        await channel.WriteLineAsync("stop");
        await domain.Serial.WaitForLineAsync("fake-agent got: stop", TimeSpan.FromSeconds(20));
        await domain.Serial.WaitForLineAsync("overlaykvm-init: overlay-agent exited with status 7", TimeSpan.FromSeconds(20));
        await domain.WaitShutOffAsync(TimeSpan.FromSeconds(30));
        Assert.DoesNotContain("starting overlaykvm-probe", domain.Serial.ReadAll());
    }

    [Fact]
    public async Task AgentImage_DynamicallyLinkedAgent_LoadsLibcLibmAndOpenSslFromTheImage()
    {
        Directory.CreateDirectory(NativeImageDir);
        var source = Path.Combine(RepoPaths.Root, "tests", "OverlayKvm.Integration.Tests", "E2e", "native-agent-stand-in.c");
        var binary = Path.Combine(NativeImageDir, "native-agent-stand-in");
        if (!File.Exists("/usr/bin/gcc"))
            throw new InvalidOperationException("gcc is not installed (/usr/bin/gcc): it is needed to build the native stand-in agent (and by Native AOT)");
        var compile = await ProcessResult.RunAsync("/usr/bin/gcc", ["-O2", "-Wall", "-Wextra", "-o", binary, source, "-lm"], timeout: TimeSpan.FromSeconds(60));
        Assert.True(compile.ExitCode == 0, $"gcc {source}: {compile}");
        var image = await GuestImage.BuildAsync(NativeImageDir, binary, _output.WriteLine);

        await using var domain = await TestDomain.DefineAsync(
            new TestDomainSpec(image) { ExtraCmdline = "overlaykvm.agent=\"16\"" }, _output.WriteLine);
        var boot = await ProbeBoot.StartAsync(domain);
        await using var channel = boot.Channel;
        _output.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"agent reported: {boot.Hello} ({boot.FirstLine.TotalSeconds:F2} s after virsh start)"));

        Assert.Matches(@"^native sqrt=4\.0000 openssl=OpenSSL 3\.\d+\.\d+ .* chacha20poly1305=yes$", boot.Hello);

        await channel.WriteLineAsync("stop");
        await domain.Serial.WaitForLineAsync("overlaykvm-init: overlay-agent exited with status 0", TimeSpan.FromSeconds(20));
        await domain.WaitShutOffAsync(TimeSpan.FromSeconds(30));
    }
}
