using OverlayKvm.GuestAgent.Cli;
using OverlayKvm.GuestAgent.Services;

namespace OverlayKvm.GuestAgent.Tests.Services;

public sealed class AppsDirectoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("as-appsd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Parse_AppUnitGroupWithCommentsAndSpaces_OneApp()
    {
        var errors = new List<string>();
        ServiceApp? app = AppsDirectory.Parse("redis.conf", ["# cache", "", " app = cache ", "unit=redis-server.service", "group=web"], errors);
        Assert.Empty(errors);
        Assert.Equal(new ServiceApp("cache", "web", "redis-server.service", "redis.conf"), app);
    }

    [Theory]
    [InlineData("app=cache\nunit=redis.socket", "x.conf:2: unit 'redis.socket' is not a service unit name")]
    [InlineData("app=cache\nunit=redis server.service", "x.conf:2: unit 'redis server.service' is not a service unit name")]
    [InlineData("app=-bad\nunit=r.service", "x.conf:1: app '-bad' is not a legal name")]
    [InlineData("app=cache\nunit=r.service\nport=6379", "x.conf:3: unknown key 'port'")]
    [InlineData("app=cache\nunit=r.service\njust words", "x.conf:3: expected key=value")]
    [InlineData("unit=r.service", "x.conf: no app= line")]
    [InlineData("app=cache", "x.conf: no unit= line")]
    public void Parse_BadLine_SkippedWithFileAndLine(string text, string expected)
    {
        var errors = new List<string>();
        Assert.Null(AppsDirectory.Parse("x.conf", text.Split('\n'), errors));
        Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Read_BadFileAndDuplicateUnit_OthersStillDeclared()
    {
        File.WriteAllText(Path.Combine(_dir, "a.conf"), "app=cache\nunit=redis-server.service\n");
        File.WriteAllText(Path.Combine(_dir, "b.conf"), "app=other\nunit=redis-server.service\n");
        File.WriteAllText(Path.Combine(_dir, "c.conf"), "app=web1\nunit=nginx.service\nbogus\n");
        File.WriteAllText(Path.Combine(_dir, "d.conf"), "app=api\nunit=api@1.service\n");
        File.WriteAllText(Path.Combine(_dir, "README"), "not a .conf: ignored");
        AppsDirectoryContent content = AppsDirectory.Read(_dir);
        Assert.Equal(["cache", "api"], content.Apps.Select(a => a.App));
        Assert.Equal(2, content.Errors.Count);
        Assert.Contains(content.Errors, e => e.Contains("b.conf: unit redis-server.service is already declared by", StringComparison.Ordinal));
        Assert.Contains(content.Errors, e => e.Contains("c.conf:3: expected key=value", StringComparison.Ordinal));
    }

    [Fact]
    public void Read_MissingDirectory_NothingDeclared()
    {
        AppsDirectoryContent content = AppsDirectory.Read(Path.Combine(_dir, "absent"));
        Assert.Empty(content.Apps);
        Assert.Empty(content.Errors);
    }

    [Fact]
    public void Generator_WritesOneDropInPerUnit_WithExecStartPreWaitApp()
    {
        string apps = Path.Combine(_dir, "apps.d");
        Directory.CreateDirectory(apps);
        File.WriteAllText(Path.Combine(apps, "redis.conf"), "app=cache\nunit=redis-server.service\n");
        File.WriteAllText(Path.Combine(apps, "api.conf"), "app=api\nunit=api@1.service\ngroup=web\n");
        File.WriteAllText(Path.Combine(apps, "bad.conf"), "app=x\n");
        string normal = Path.Combine(_dir, "normal");
        Directory.CreateDirectory(normal);

        int code = SystemdGeneratorCommand.Run([normal, Path.Combine(_dir, "early"), Path.Combine(_dir, "late"), "--apps-dir", apps]);

        Assert.Equal(AgentCommandLine.ExitOk, code);
        string redis = File.ReadAllText(Path.Combine(normal, "redis-server.service.d", "overlay-agent.conf"));
        Assert.Contains("\n[Service]\nExecStartPre=+/usr/bin/overlay-agent wait-app cache\n", redis);
        Assert.Contains("\n[Unit]\nAfter=overlay-agent.service\n", redis);
        string api = File.ReadAllText(Path.Combine(normal, "api@1.service.d", "overlay-agent.conf"));
        Assert.Contains("ExecStartPre=+/usr/bin/overlay-agent wait-app api --group web\n", api);
        Assert.Equal(2, Directory.GetDirectories(normal).Length);
        Assert.False(Directory.Exists(Path.Combine(_dir, "early")));
    }

    [Theory]
    [InlineData()]
    [InlineData("a", "b")]
    [InlineData("a", "--frobnicate")]
    public void Generator_WrongArguments_Usage(params string[] args) =>
        Assert.Equal(AgentCommandLine.ExitUsage, SystemdGeneratorCommand.Run(args));
}
