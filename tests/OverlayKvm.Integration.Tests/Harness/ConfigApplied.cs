using OverlayKvm.Integration.Tests.Daemon;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// Waits until each agent runs exactly the document overlayd would push now: the digest of
/// `domain-config DOMAIN --show-secrets` (the pushed form; the redacted one differs) equals the digest the agent
/// reports. Stronger than the acknowledged version, which a policy removal may leave unchanged.
/// </summary>
internal static class ConfigApplied
{
    public static async Task WaitAsync(Overlayctl ctl, params AgentProcess[] agents)
    {
        var expected = new Dictionary<AgentProcess, string>();
        foreach (var agent in agents)
        {
            expected[agent] = (await ctl.JsonAsync("domain-config", agent.Domain, "--show-secrets")).GetProperty("digest").GetString()!;
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (agents.All(a => AgentControl.Stat(a.ControlSocket)["configDigest"]?.GetValue<string>() == expected[a]))
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail($"agents did not apply the current documents within 20 s: {(await ctl.JsonAsync("channel-list")).GetRawText()}");
    }
}
