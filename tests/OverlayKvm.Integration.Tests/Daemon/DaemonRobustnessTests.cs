using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Daemon;

/// <summary>Hostile requests, crashes mid-burst and concurrent clients against a real overlayd.</summary>
public sealed class DaemonRobustnessTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("{\"name\":\"web\",\"cidr\":")]
    [InlineData("not json at all")]
    [InlineData("{\"cidr\":\"10.1.0.0/16\"}")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"name\":\"web\",\"cidr\":42}")]
    public async Task MalformedJson_Http400WithMessage_DaemonKeepsServing(string body)
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        using var http = UnixHttp.Create(daemon.Socket);

        using var response = await http.PostAsync("v1/groups", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        output.WriteLine($"{(int)response.StatusCode} {text}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error").GetString();
        Assert.False(string.IsNullOrWhiteSpace(error));
        using var health = await http.GetAsync("v1/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(0, (await new Overlayctl(daemon.Socket).JsonAsync("group-list")).GetArrayLength());
    }

    [Fact]
    public async Task OversizedBody_IsRefused_DaemonKeepsServing()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        using var http = UnixHttp.Create(daemon.Socket);
        var huge = "{\"name\":\"" + new string('a', 2 << 20) + "\",\"cidr\":\"10.1.0.0/16\"}";

        // Expect: 100-continue lets the daemon refuse on Content-Length before the client pushes 2 MiB at it.
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/groups") { Content = new StringContent(huge, Encoding.UTF8, "application/json") };
        request.Headers.ExpectContinue = true;
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var health = await http.GetAsync("v1/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Kill9_DuringBurstOf1000Defines_AcknowledgedDefinesSurvive_NothingHalfWritten()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("group-define", "burst", "--cidr", "10.20.0.0/16");
        using var http = UnixHttp.Create(daemon.Socket);

        var acknowledged = new ConcurrentDictionary<string, string>();
        var killAfter = 300;
        var burst = Task.Run(async () =>
        {
            var workers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                for (int i = w; i < 1000; i += 4)
                {
                    var name = $"app{i}";
                    try
                    {
                        using var r = await http.PostAsync("v1/apps", new StringContent(
                            $"{{\"group\":\"burst\",\"name\":\"{name}\",\"domain\":\"vm{i % 7}\"}}", Encoding.UTF8, "application/json"));
                        if (r.StatusCode == HttpStatusCode.Created)
                            acknowledged[name] = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("address").GetString()!;
                    }
                    catch (HttpRequestException)
                    {
                        return; // the daemon is gone: this define was never acknowledged
                    }
                }
            })).ToArray();
            await Task.WhenAll(workers);
        });
        while (acknowledged.Count < killAfter && !burst.IsCompleted) await Task.Delay(5);
        await daemon.KillAsync();
        await burst;
        output.WriteLine($"acknowledged before SIGKILL: {acknowledged.Count}");
        Assert.InRange(acknowledged.Count, killAfter, 999);

        await daemon.StartAsync();
        var apps = await ctl.JsonAsync("app-list", "--group", "burst");
        var stored = apps.EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!, a => a);
        foreach (var (name, address) in acknowledged)
        {
            Assert.True(stored.TryGetValue(name, out var app), $"acknowledged {name} is missing after the crash");
            Assert.Equal(address, app.GetProperty("address").GetString());
        }
        // Nothing half-written: every stored app is complete, and at most the in-flight ones are extra.
        foreach (var app in stored.Values)
        {
            Assert.StartsWith("10.20.", app.GetProperty("address").GetString());
            Assert.StartsWith("vm", app.GetProperty("domain").GetString());
            Assert.True(app.GetProperty("version").GetInt64() > 0);
        }
        Assert.InRange(stored.Count, acknowledged.Count, acknowledged.Count + 4);
        Assert.Equal(stored.Count, stored.Values.Select(a => a.GetProperty("address").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task EightConcurrentClients_DefiningApps_NoAddressTwice_NoneLost()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("group-define", "many", "--cidr", "10.30.0.0/24");

        const int perClient = 6;
        var clients = Enumerable.Range(0, 8).Select(c =>
        {
            var script = new StringBuilder();
            for (int i = 0; i < perClient; i++) script.AppendLine($"app-define many c{c}-a{i} --domain vm{c}");
            return ctl.RunScriptAsync(script.ToString());
        }).ToArray();
        var results = await Task.WhenAll(clients);
        foreach (var r in results) Assert.True(r.ExitCode == 0, r.ToString());

        var apps = (await ctl.JsonAsync("app-list", "--group", "many")).EnumerateArray().ToArray();
        Assert.Equal(8 * perClient, apps.Length);
        var addresses = apps.Select(a => a.GetProperty("address").GetString()).ToArray();
        Assert.Equal(addresses.Length, addresses.Distinct().Count());
    }
}
