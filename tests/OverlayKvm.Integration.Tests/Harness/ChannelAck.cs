using OverlayKvm.Integration.Tests.Daemon;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// Waits for a booted VM's agent as its host sees it: overlayd's channel-list shows the domain's channel connected
/// with a configuration version at least the one asked for acknowledged. (Namespace agents, whose control socket the
/// test reaches, use <see cref="ConfigApplied"/> instead.)
/// </summary>
internal static class ChannelAck
{
    public static async Task WaitAsync(Overlayctl ctl, string domain, long versionAtLeast, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var list = await ctl.JsonAsync("channel-list");
            last = list.GetRawText();
            foreach (var c in list.EnumerateArray())
            {
                if (c.GetProperty("domain").GetString() == domain && c.GetProperty("connected").GetBoolean()
                    && c.GetProperty("acknowledgedVersion").GetInt64() >= versionAtLeast)
                {
                    return;
                }
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the agent of {domain} did not acknowledge configuration version {versionAtLeast} or later within {timeout.TotalSeconds} s: {last}");
    }
}
