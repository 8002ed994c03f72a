using Xunit.Abstractions;
using System.Text;

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
            new TestDomainSpec(image) { ExtraCmdline = "overlaykvm.agent=\"run --config /etc/overlaykvm/agent.json --verbose\"" },
            _output.WriteLine);
        var boot = await ProbeBoot.StartAsync(domain);
        await using var channel = boot.Channel;
        _output.WriteLine("agent reported: " + boot.Hello);

        Assert.StartsWith("agent argc=4 args=run --config /etc/overlaykvm/agent.json --verbose ", boot.Hello);
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
}
