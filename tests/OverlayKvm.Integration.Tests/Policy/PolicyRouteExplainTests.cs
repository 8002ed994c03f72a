using System.Text.Json;
using OverlayKvm.Integration.Tests.Daemon;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Policy;

/// <summary>
/// Issue 7 against a real overlayd and the real overlayctl: "G3 accepts tcp/80 from G2" decides route-explain,
/// other ports fall to the default, removing the policy denies again, and the G3 domain's document carries it.
/// </summary>
public sealed class PolicyRouteExplainTests(ITestOutputHelper output)
{
    [Fact]
    public async Task G3AcceptsTcp80FromG2_RouteExplainAndDocument_FollowAddAndRemove()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("group-define", "G2", "--cidr", "10.2.0.0/16");
        await ctl.OkAsync("group-define", "G3", "--cidr", "10.3.0.0/16");
        await ctl.OkAsync("domain-define", "vm2", "--address", "192.168.50.2");
        await ctl.OkAsync("domain-define", "vm3", "--address", "192.168.50.3", "--host", "otherhost");
        await ctl.OkAsync("app-define", "G2", "b", "--domain", "vm2", "--address", "10.2.0.10");
        await ctl.OkAsync("app-define", "G3", "d", "--domain", "vm3", "--address", "10.3.0.10");

        var directory = await ctl.JsonAsync("directory-list");
        var entries = directory.GetProperty("entries").EnumerateArray().ToArray();
        Assert.Equal(["G2/b", "G3/d"], entries.Select(e => $"{e.GetProperty("group").GetString()}/{e.GetProperty("app").GetString()}"));
        Assert.Equal(["192.168.50.2", "192.168.50.3"], entries.Select(e => e.GetProperty("domainAddress").GetString()));
        Assert.Equal("otherhost", entries[1].GetProperty("host").GetString());
        Assert.Equal(1, (await ctl.JsonAsync("directory-list", "--group", "G3")).GetProperty("entries").GetArrayLength());

        var added = await ctl.JsonAsync("policy-add", "G3", "--from", "G2", "--proto", "tcp", "--port", "80");
        var id = added.GetProperty("id").GetInt64();
        output.WriteLine(added.GetRawText());
        Assert.Equal(["group:G2"], added.GetProperty("from").EnumerateArray().Select(e => e.GetString()));

        var http = await ctl.JsonAsync("route-explain", "G2/b", "G3/d", "--proto", "tcp", "--port", "80");
        output.WriteLine(http.GetRawText());
        Assert.Equal("allow", http.GetProperty("verdict").GetString());
        Assert.Equal(id, http.GetProperty("policyId").GetInt64());
        Assert.Equal($"policy {id}", http.GetProperty("decidedBy").GetString());
        Assert.Equal("untrusted", http.GetProperty("path").GetString());
        Assert.Equal(["encapsulate", "seal"], Strings(http.GetProperty("actions")));
        Assert.Equal(["192.168.50.2", "192.168.50.3"], Strings(http.GetProperty("forwardingPath")));

        // Addresses work as well as names, and the text form names the deciding policy.
        var text = await ctl.OkAsync("route-explain", "10.2.0.10", "10.3.0.10", "--proto", "tcp", "--port", "80");
        output.WriteLine(text);
        Assert.Contains($"policy {id}", text);
        Assert.Contains("encapsulate, seal", text);

        foreach (var port in new[] { "81", "22" })
        {
            var other = await ctl.JsonAsync("route-explain", "G2/b", "G3/d", "--proto", "tcp", "--port", port);
            Assert.Equal("deny", other.GetProperty("verdict").GetString());
            Assert.Equal("default between groups", other.GetProperty("decidedBy").GetString());
            Assert.Equal(JsonValueKind.Null, other.GetProperty("policyId").ValueKind);
            Assert.Equal(["drop"], Strings(other.GetProperty("actions")));
        }

        var document = await ctl.JsonAsync("domain-config", "vm3");
        var policy = Assert.Single(document.GetProperty("policies").EnumerateArray());
        Assert.Equal(id, policy.GetProperty("id").GetInt64());
        Assert.Equal("G3", policy.GetProperty("destination").GetString());
        Assert.Equal("tcp", policy.GetProperty("protocol").GetString());
        Assert.Equal("80", policy.GetProperty("ports").GetString());
        Assert.Equal("allow", policy.GetProperty("verdict").GetString());
        Assert.Equal("deny", document.GetProperty("policyDefaults").GetProperty("betweenGroups").GetString());
        Assert.Empty((await ctl.JsonAsync("domain-config", "vm2")).GetProperty("policies").EnumerateArray());
        var versionWithPolicy = document.GetProperty("version").GetInt64();

        await ctl.OkAsync("policy-remove", id.ToString());
        var after = await ctl.JsonAsync("route-explain", "G2/b", "G3/d", "--proto", "tcp", "--port", "80");
        Assert.Equal("deny", after.GetProperty("verdict").GetString());
        Assert.Equal("default between groups", after.GetProperty("decidedBy").GetString());
        var documentAfter = await ctl.JsonAsync("domain-config", "vm3");
        Assert.Empty(documentAfter.GetProperty("policies").EnumerateArray());
        Assert.True(documentAfter.GetProperty("version").GetInt64() > versionWithPolicy, "removing a policy must give the G3 document a new version");
        Assert.Empty((await ctl.JsonAsync("policy-list")).EnumerateArray());
    }

    [Fact]
    public async Task PathClasses_SameVmSameHostWithinGroup_AndNestedGroupInheritsPolicy()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("group-define", "G2", "--cidr", "10.2.0.0/16");
        await ctl.OkAsync("group-define", "G3", "--cidr", "10.3.0.0/16");
        await ctl.OkAsync("group-define", "G5", "--cidr", "10.5.0.0/16");
        await ctl.OkAsync("domain-define", "vm2", "--address", "192.168.50.2");
        await ctl.OkAsync("domain-define", "vm3", "--address", "192.168.50.3");
        await ctl.OkAsync("app-define", "G2", "b", "--domain", "vm2");
        await ctl.OkAsync("app-define", "G3", "local", "--domain", "vm2");
        await ctl.OkAsync("app-define", "G3", "d", "--domain", "vm3");
        await ctl.OkAsync("app-define", "G3", "d2", "--domain", "vm3");
        await ctl.OkAsync("app-define", "G5", "e", "--domain", "vm3");
        var id = (await ctl.JsonAsync("policy-add", "G3", "--from", "G2", "--proto", "tcp", "--port", "80")).GetProperty("id").GetInt64();

        var sameVm = await ctl.JsonAsync("route-explain", "G2/b", "G3/local", "--proto", "tcp", "--port", "80");
        Assert.Equal("same-vm", sameVm.GetProperty("path").GetString());
        Assert.Equal(["local"], Strings(sameVm.GetProperty("actions")));
        Assert.Empty(sameVm.GetProperty("forwardingPath").EnumerateArray());

        // Same host but two groups: the engine's back channel is one region per group, so they meet sealed.
        var sameHost = await ctl.JsonAsync("route-explain", "G2/b", "G3/d", "--proto", "tcp", "--port", "80");
        Assert.Equal("untrusted", sameHost.GetProperty("path").GetString());
        Assert.Equal(["encapsulate", "seal"], Strings(sameHost.GetProperty("actions")));
        var sameHostSameGroup = await ctl.JsonAsync("route-explain", "G3/local", "G3/d", "--proto", "tcp", "--port", "80");
        Assert.Equal("same-host", sameHostSameGroup.GetProperty("path").GetString());
        Assert.Equal(["engine"], Strings(sameHostSameGroup.GetProperty("actions")));

        var within = await ctl.JsonAsync("route-explain", "G3/d", "G3/d2", "--proto", "udp", "--port", "53");
        Assert.Equal("allow", within.GetProperty("verdict").GetString());
        Assert.Equal("default within group", within.GetProperty("decidedBy").GetString());

        // Not nested yet: G5 is just another group.
        Assert.Equal("deny", (await ctl.JsonAsync("route-explain", "G2/b", "G5/e", "--proto", "tcp", "--port", "80")).GetProperty("verdict").GetString());
        var nested = await ctl.JsonAsync("group-nest", "G5", "G3");
        Assert.Equal(["G3"], Strings(nested.GetProperty("ancestors")));
        var inherited = await ctl.JsonAsync("route-explain", "G2/b", "G5/e", "--proto", "tcp", "--port", "80");
        Assert.Equal("allow", inherited.GetProperty("verdict").GetString());
        Assert.Equal(id, inherited.GetProperty("policyId").GetInt64());
        Assert.Empty((await ctl.JsonAsync("policy-list", "--group", "G5")).EnumerateArray());
        var applying = Assert.Single((await ctl.JsonAsync("policy-list", "--group", "G5", "--inherited")).EnumerateArray());
        Assert.Equal(id, applying.GetProperty("id").GetInt64());
        Assert.Equal(2, (await ctl.RunAsync("policy-list", "--inherited")).ExitCode);
        var documentG5 = await ctl.JsonAsync("domain-config", "vm3");
        Assert.Contains(documentG5.GetProperty("groupParents").EnumerateArray(), r => r.GetProperty("group").GetString() == "G5" && r.GetProperty("parent").GetString() == "G3");

        var cycle = await ctl.RunAsync("group-nest", "G3", "G5");
        output.WriteLine(cycle.ToString());
        Assert.Equal(1, cycle.ExitCode);
        Assert.Contains("cycle", cycle.Stderr);
    }

    [Theory]
    [InlineData(1, "ports without tcp/udp", "policy-add", "G3", "--from", "G2", "--proto", "icmp", "--port", "80")]
    [InlineData(1, "reversed port range", "policy-add", "G3", "--from", "G2", "--proto", "tcp", "--port", "90-80")]
    [InlineData(1, "port zero", "policy-add", "G3", "--from", "G2", "--proto", "tcp", "--port", "0")]
    [InlineData(1, "host bits in sender CIDR", "policy-add", "G3", "--from", "10.2.0.1/16")]
    [InlineData(1, "unknown protocol", "policy-add", "G3", "--from", "G2", "--proto", "sctp")]
    [InlineData(1, "not any", "policy-add", "G3", "--from", "not:any")]
    [InlineData(4, "unknown destination group", "policy-add", "nosuch", "--from", "G2")]
    [InlineData(4, "unknown sender group", "policy-add", "G3", "--from", "nosuch")]
    [InlineData(2, "missing --from", "policy-add", "G3")]
    [InlineData(2, "id not a number", "policy-remove", "abc")]
    [InlineData(4, "unknown policy id", "policy-remove", "999")]
    [InlineData(1, "group nested under itself", "group-nest", "G3", "G3")]
    [InlineData(4, "route from unknown address", "route-explain", "10.9.9.9", "G3/d")]
    [InlineData(1, "route with port and icmp", "route-explain", "G2/b", "G3/d", "--proto", "icmp", "--port", "80")]
    public async Task BadInput_OneLineOnStderr_ExitCode_NothingStored(int exitCode, string what, params string[] command)
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("group-define", "G2", "--cidr", "10.2.0.0/16");
        await ctl.OkAsync("group-define", "G3", "--cidr", "10.3.0.0/16");
        await ctl.OkAsync("app-define", "G2", "b", "--domain", "vm2");
        await ctl.OkAsync("app-define", "G3", "d", "--domain", "vm3");
        var before = (await ctl.JsonAsync("version")).GetProperty("storeVersion").GetInt64();

        var refused = await ctl.RunAsync(command);
        output.WriteLine($"{what}: {refused}");

        Assert.Equal(exitCode, refused.ExitCode);
        var line = Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("overlayctl: ", line);
        Assert.Equal("", refused.Stdout);
        Assert.Equal(before, (await ctl.JsonAsync("version")).GetProperty("storeVersion").GetInt64());
        Assert.Empty((await ctl.JsonAsync("policy-list")).EnumerateArray());
    }

    [Theory]
    [InlineData("{\"destination\":\"G3\"}", "from: name at least one sender")]
    [InlineData("{\"destination\":\"G3\",\"from\":[42]}", "malformed JSON")]
    [InlineData("{\"destination\":\"G3\",\"from\":[\"G2\"],\"ports\":\"80\"}", "needs --proto tcp or udp")]
    [InlineData("{\"destination\":\"G3\",\"from\":[\"G2\\u0007\"]}", "is not a sender")]
    [InlineData("{\"from\":[\"G2\"]}", "policy destination group: is required")]
    public async Task HostileApiBodies_400WithMessage_NothingStored(string body, string expected)
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("group-define", "G2", "--cidr", "10.2.0.0/16");
        await ctl.OkAsync("group-define", "G3", "--cidr", "10.3.0.0/16");
        using var http = UnixHttp.Create(daemon.Socket);

        using var response = await http.PostAsync("v1/policies", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        output.WriteLine($"{(int)response.StatusCode} {text}");

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!;
        Assert.Contains(expected, error);
        Assert.DoesNotContain('\u0007', error); // control characters of hostile input never reach a terminal
        Assert.Empty((await ctl.JsonAsync("policy-list")).EnumerateArray());
    }

    [Fact]
    public async Task Policies_SurviveRestart_WithIdsAndNesting()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("group-define", "G2", "--cidr", "10.2.0.0/16");
        await ctl.OkAsync("group-define", "G3", "--cidr", "10.3.0.0/16");
        await ctl.OkAsync("policy-add", "G3", "--from", "G2", "--from", "not:app:G2/bad", "--proto", "udp", "--port", "5000-5010");
        await ctl.OkAsync("policy-add", "G2", "--from", "10.3.0.0/24", "--deny");
        await ctl.OkAsync("group-nest", "G2", "G3");
        var policies = (await ctl.JsonAsync("policy-list")).GetRawText();
        var nesting = (await ctl.JsonAsync("group-nest-list")).GetRawText();

        await daemon.StopAsync();
        await daemon.StartAsync();

        Assert.Equal(policies, (await ctl.JsonAsync("policy-list")).GetRawText());
        Assert.Equal(nesting, (await ctl.JsonAsync("group-nest-list")).GetRawText());
        var refused = await ctl.RunAsync("group-undefine", "G3");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("sub-groups G2", refused.Stderr);
    }

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();
}
