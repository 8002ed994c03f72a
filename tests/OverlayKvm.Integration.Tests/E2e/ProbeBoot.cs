using System.Diagnostics;
using System.Globalization;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>A started test domain with the host end of its agent channel connected and the guest's hello read.</summary>
internal sealed record ProbeBoot(AgentChannel Channel, string Hello, TimeSpan VirshStart, TimeSpan FirstLine)
{
    public static readonly TimeSpan FirstLineTimeout = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Starts the domain and connects to its channel at once: the guest's first write blocks until a host
    /// client is connected, so connecting late would add to the measured time.
    /// </summary>
    public static async Task<ProbeBoot> StartAsync(TestDomain domain)
    {
        var watch = Stopwatch.StartNew();
        var virshStart = await domain.StartAsync();
        var channel = await AgentChannel.ConnectAsync(domain.AgentSocketPath, TimeSpan.FromSeconds(20));
        try
        {
            var hello = await channel.ReadLineAsync(FirstLineTimeout);
            return new ProbeBoot(channel, hello, virshStart, watch.Elapsed);
        }
        catch (Exception e) when (e is TimeoutException or EndOfStreamException)
        {
            await channel.DisposeAsync();
            throw new TimeoutException($"{e.Message}; serial log of {domain.Name}:\n{SerialLog.Tail(domain.Serial.ReadAll(), 2000)}", e);
        }
    }

    /// <summary>The guest's uptime (seconds since kernel start) when it sent hello, from "uptime=S".</summary>
    public double GuestUptimeSeconds => double.Parse(Field("uptime"), CultureInfo.InvariantCulture);

    public string Field(string key)
    {
        foreach (var word in Hello.Split(' '))
        {
            if (word.StartsWith(key + "=", StringComparison.Ordinal)) return word[(key.Length + 1)..];
        }
        throw new InvalidDataException($"the probe's hello has no {key}=: '{Hello}'");
    }
}
