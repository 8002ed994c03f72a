using System.Text.Json.Nodes;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Daemon;

/// <summary>
/// Issue 13 Show 5 (R0.10): `overlayctl domain-stat` shows the same numbers as `overlay-agent stat` in the VM (asked
/// over the host channel), and overlayd's Prometheus endpoint serves them in a text that `promtool check metrics`
/// accepts.
/// </summary>
[Collection(Agent.AgentCollection.Name)]
public sealed class DomainStatTests
{
    [Fact]
    public async Task DomainStat_EqualsAgentStat_AndPrometheusTextPassesPromtool()
    {
        Assert.True(Cmd.Run("sh", "-c", "command -v promtool").Code == 0,
            "prerequisite missing: 'promtool' (Debian package prometheus; scripts/setup.sh installs it)");
        await using var s = await DomainStatScenario.CreateAsync();

        // Traffic through the overlay (sealed path), so the counters are not all zero.
        using (TcpExchange.Listen(s.B, DomainStatScenario.Server, 8080))
        {
            string? answer = await TcpExchange.GetAsync(s.A, DomainStatScenario.Client, DomainStatScenario.Server, 8080, TimeSpan.FromSeconds(20));
            Assert.True(answer is not null, $"no TCP exchange over the overlay\n{s.Logs()}");
        }

        JsonNode before = AgentControl.Stat(s.AgentA.ControlSocket);
        JsonNode fromHost = JsonNode.Parse(await s.Ctl.OkAsync("--json", "domain-stat", "vmA"))!;
        JsonNode after = AgentControl.Stat(s.AgentA.ControlSocket);
        Assert.True(JsonNode.DeepEquals(Comparable(before), Comparable(after)), "the agent's counters moved during the test: nothing should be sending");
        Assert.Equal(Comparable(before).ToJsonString(), Comparable(fromHost).ToJsonString());
        Assert.Equal("vmA", fromHost["domain"]!.GetValue<string>());
        JsonNode web = fromHost["groups"]!.AsArray().Single(g => g!["group"]!.GetValue<string>() == "web")!;
        long sealedOut = web["sealed"]!["packetsOut"]!.GetValue<long>();
        Assert.True(sealedOut >= 3, $"expected at least a TCP handshake, request and close sealed out, got {sealedOut}");

        // Issue 15: the same bytes per peer VM (here all sealed: the scenario's agents run without the engine).
        JsonNode peer = fromHost["peers"]!.AsArray().Single(x => x!["domain"]!.GetValue<string>() == "vmB")!;
        Assert.Equal(web["sealed"]!["bytesOut"]!.GetValue<long>(), peer["sealed"]!["bytesOut"]!.GetValue<long>());

        string text = await s.Ctl.OkAsync("domain-stat", "vmA");
        Assert.Contains("Peer VM", text);
        Assert.Contains("drops: auth=0", text);
        Assert.Contains("adapter ovk", text);
        Assert.Contains("apps client", text);

        // Errors an operator can act on: unknown domain (exit 4), a domain whose agent does not answer (exit 1, says why).
        ProcessResult unknown = await s.Ctl.RunAsync("domain-stat", "nosuch");
        Assert.Equal(4, unknown.ExitCode);
        await s.Ctl.OkAsync("domain-define", "vmC", "--address", "10.97.0.3");
        ProcessResult silent = await s.Ctl.RunAsync("domain-stat", "vmC");
        Assert.Equal(1, silent.ExitCode);
        Assert.Contains("domain vmC", silent.Stderr);

        // Prometheus: the same numbers, in a text promtool accepts; its socket has the admin socket's mode, not the umask's.
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite,
            File.GetUnixFileMode(s.MetricsSocket));
        using var http = UnixHttp.Create(s.MetricsSocket);
        using var response = await http.GetAsync("metrics");
        string metrics = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET /metrics: {(int)response.StatusCode} {metrics}\n{s.Daemon.Log}");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("overlaykvm_agent_up{domain=\"vmA\"} 1", metrics);
        Assert.Contains($"overlaykvm_agent_packets_total{{domain=\"vmA\",group=\"web\",path=\"sealed\",direction=\"out\"}} {sealedOut}", metrics);
        Assert.Contains("overlaykvm_agent_drops_total{domain=\"vmA\",reason=\"auth\"} 0", metrics);
        Assert.Contains("overlaykvm_channel_connected{domain=\"vmB\"} 1", metrics);
        string file = Path.Combine(s.Work, "metrics.txt");
        await File.WriteAllTextAsync(file, metrics);
        var check = Cmd.Run("sh", "-c", $"promtool check metrics < '{file}'");
        Assert.True(check.Code == 0, $"promtool check metrics refused the endpoint's text: {check.Out}{check.Err}\n{metrics}");
        // The admin API is not served on the metrics endpoint.
        using var admin = await http.GetAsync("v1/groups");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, admin.StatusCode);
    }

    /// <summary>The agent's stat minus what the host view does not carry (engine attachments, config digest).</summary>
    private static JsonNode Comparable(JsonNode stat)
    {
        // Key order differs between the two serializers: rebuild each group in one order.
        var groups = new JsonArray();
        foreach (JsonNode? g in stat["groups"]!.AsArray())
        {
            var ordered = new JsonObject();
            foreach (string key in new[] { "group", "local", "engine", "sealed", "sendEpoch" })
            {
                ordered[key] = g![key]?.DeepClone();
            }
            groups.Add(ordered);
        }
        var o = new JsonObject
        {
            ["domain"] = stat["domain"]?.DeepClone(),
            ["configVersion"] = stat["configVersion"]?.DeepClone(),
            ["groups"] = groups,
            ["drops"] = stat["drops"]!.DeepClone(),
            ["transmission"] = stat["transmission"]?.DeepClone(),
            ["adapters"] = stat["adapters"]!.DeepClone(),
            ["peers"] = stat["peers"]!.DeepClone(),
        };
        return JsonNode.Parse(o.ToJsonString())!;
    }
}
