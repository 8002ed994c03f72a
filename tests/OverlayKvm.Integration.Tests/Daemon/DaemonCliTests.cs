using System.Text.Json;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Daemon;

/// <summary>overlayd and overlayctl as processes: persistence, refusals, redaction, the shell.</summary>
public sealed class DaemonCliTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Restart_DefinedGroupAndApps_SameDataAndVersions()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);

        await ctl.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");
        await ctl.OkAsync("app-define", "web", "frontend", "--domain", "vm1", "--address", "10.1.0.10");
        await ctl.OkAsync("app-define", "web", "backend", "--domain", "vm2");
        var before = (await ctl.JsonAsync("app-list")).GetRawText();
        var groupsBefore = (await ctl.JsonAsync("group-list")).GetRawText();

        await daemon.StopAsync();
        Assert.Equal(0, daemon.ExitCode);
        Assert.False(File.Exists(daemon.Socket), "a clean stop removes the admin socket");
        await daemon.StartAsync();

        var after = (await ctl.JsonAsync("app-list")).GetRawText();
        output.WriteLine(after);
        Assert.Equal(before, after);
        Assert.Equal(groupsBefore, (await ctl.JsonAsync("group-list")).GetRawText());
        var apps = JsonDocument.Parse(after).RootElement;
        Assert.Equal(2, apps.GetArrayLength());
        Assert.Contains(apps.EnumerateArray(), a => a.GetProperty("name").GetString() == "frontend" && a.GetProperty("address").GetString() == "10.1.0.10");
    }

    [Fact]
    public async Task AdminSocket_Mode_Is0660AndStateFile0600()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite,
            File.GetUnixFileMode(daemon.Socket));
        var db = Directory.GetFiles(daemon.StateDir, "*.db").Single();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(db));
    }

    [Theory]
    [InlineData("outside the group's space", "app-define", "web", "x1", "--domain", "vm1", "--address", "10.9.0.1")]
    [InlineData("duplicate address", "app-define", "web", "x2", "--domain", "vm1", "--address", "10.1.0.10")]
    [InlineData("overlapping group spaces", "group-define", "web2", "--cidr", "10.1.128.0/17")]
    [InlineData("unknown group", "app-define", "nosuch", "x3", "--domain", "vm1")]
    [InlineData("malformed CIDR", "group-define", "db", "--cidr", "10.300.0.0/16")]
    [InlineData("host bits in CIDR", "group-define", "db", "--cidr", "10.2.0.1/16")]
    [InlineData("illegal name", "group-define", "bad/name", "--cidr", "10.3.0.0/16")]
    [InlineData("illegal app name", "app-define", "web", "a b;rm", "--domain", "vm1")]
    [InlineData("malformed address", "app-define", "web", "x4", "--domain", "vm1", "--address", "10.1.0.999")]
    [InlineData("IPv6 group space (agents carry IPv4 only)", "group-define", "v6", "--cidr", "fd00:1::/64")]
    public async Task BadInput_IsRefusedWithOneLine_StoresNothing_DaemonKeepsServing(string what, params string[] command)
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");
        await ctl.OkAsync("app-define", "web", "frontend", "--domain", "vm1", "--address", "10.1.0.10");
        var versionBefore = (await ctl.JsonAsync("version")).GetProperty("storeVersion").GetInt64();

        var refused = await ctl.RunAsync(command);
        output.WriteLine($"{what}: {refused}");

        Assert.NotEqual(0, refused.ExitCode);
        var lines = refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("overlayctl: ", lines[0]);
        if (what.StartsWith("IPv6", StringComparison.Ordinal)) Assert.Contains("IPv6 group spaces are not supported yet", lines[0]);
        Assert.Equal("", refused.Stdout);
        var versionAfter = (await ctl.JsonAsync("version")).GetProperty("storeVersion").GetInt64();
        Assert.Equal(versionBefore, versionAfter);
        Assert.Equal(1, (await ctl.JsonAsync("app-list")).GetArrayLength());
    }

    [Fact]
    public async Task Duplicate_IsConflict_ProtectionChange_BumpsVersion()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");

        var again = await ctl.RunAsync("group-define", "web", "--cidr", "10.5.0.0/16");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("web", again.Stderr);

        var before = (await ctl.JsonAsync("group-info", "web")).GetProperty("version").GetInt64();
        var changed = await ctl.JsonAsync("group-protect", "web", "authenticated");
        Assert.Equal("authenticated", changed.GetProperty("protection").GetString());
        Assert.True(changed.GetProperty("version").GetInt64() > before);
        var bad = await ctl.RunAsync("group-protect", "web", "rot13");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("rot13", bad.Stderr);
    }

    [Fact]
    public async Task DomainConfig_TwoGroups_OnlyOwnGroupsCredentials()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("group-define", "a", "--cidr", "10.1.0.0/16");
        await ctl.OkAsync("group-define", "b", "--cidr", "10.2.0.0/16");
        await ctl.OkAsync("domain-define", "vma", "--address", "192.168.50.1");
        await ctl.OkAsync("domain-define", "vmb", "--address", "192.168.50.2");
        await ctl.OkAsync("app-define", "a", "a1", "--domain", "vma");
        await ctl.OkAsync("app-define", "b", "bravo-app", "--domain", "vmb");

        var docA = await ctl.JsonAsync("domain-config", "vma", "--show-secrets");
        var docB = await ctl.JsonAsync("domain-config", "vmb", "--show-secrets");
        var groupsA = docA.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(["a"], groupsA);
        var keyA = docA.GetProperty("groups")[0].GetProperty("credentials")[0].GetProperty("key").GetString();
        var keyB = docB.GetProperty("groups")[0].GetProperty("credentials")[0].GetProperty("key").GetString();
        Assert.Equal(32, Convert.FromBase64String(keyA!).Length);
        Assert.NotEqual(keyA, keyB);
        Assert.DoesNotContain(keyB!, docA.GetRawText());
        Assert.DoesNotContain("bravo-app", docA.GetRawText());
        Assert.DoesNotContain("vmb", docA.GetRawText());

        var redacted = await ctl.OkAsync("domain-config", "vma");
        Assert.DoesNotContain(keyA!, redacted);
    }

    [Fact]
    public async Task Shell_CommandsFromStdin_RunInOrder_FailureSetsExitCode()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);

        var ok = await ctl.RunScriptAsync("group-define web --cidr 10.1.0.0/16\n# a comment\napp-define web 'front end' --domain vm1\napp-define web frontend --domain vm1\napp-list\n");
        output.WriteLine(ok.ToString());
        Assert.NotEqual(0, ok.ExitCode); // the quoted name with a space is illegal
        Assert.Contains("front end", ok.Stderr);
        Assert.Contains("frontend", ok.Stdout);
        Assert.Equal(1, (await ctl.JsonAsync("app-list")).GetArrayLength());
    }

    [Fact]
    public async Task Overlayctl_NoDaemon_ClearErrorAndExitCode()
    {
        var socket = Path.Combine(Path.GetTempPath(), $"okvm-none-{Guid.NewGuid():N}.sock");
        var r = await new Overlayctl(socket).RunAsync("group-list");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("cannot connect to overlayd at " + socket, r.Stderr);
    }

    [Fact]
    public async Task Overlayctl_UnknownCommand_UsageExitCode()
    {
        var r = await new Overlayctl("/nonexistent.sock").RunAsync("grup-list");
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
