using System.Diagnostics;
using System.Net;
using System.Text;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Tests.Libvirt;
using OverlayKvm.HostDaemon.Tests.Placement;

namespace OverlayKvm.Integration.Tests.Libvirt;

/// <summary>The real overlay-hook process: argv + stdin in, exit code + stderr out (no libvirtd involved).</summary>
public sealed class OverlayHookProcessTests
{
    private const string Member = "<metadata><overlay:domain xmlns:overlay='https://overlaykvm.org/xmlns/domain/1'><overlay:member group='web'/></overlay:domain></metadata>";

    private static string DomainXml(string? metadata) =>
        $"<domain type='qemu'><name>vm1</name><memory>65536</memory>{metadata}<os><type>hvm</type></os><devices/></domain>";

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunHook(string socket, string stdin, params string[] args)
    {
        var psi = new ProcessStartInfo(HookInstallation.HookBinary())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["OVERLAYKVM_SOCKET"] = socket;
        psi.Environment["DOTNET_ROOT"] = HookInstallation.DotnetRoot();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            await p.StandardInput.WriteAsync(stdin);
            p.StandardInput.Close();
        }
        catch (IOException)
        {
            // The hook may exit before reading everything (oversized input): that is what some tests check.
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(timeout.Token);
        return (p.ExitCode, await stdout, await stderr);
    }

    private static string MissingSocket() => Path.Combine(Path.GetTempPath(), $"okvm-absent-{Guid.NewGuid():N}.sock");

    [Fact]
    public async Task ForeignDomain_OverlaydDown_ExitsZeroWithoutAsking()
    {
        var (rc, stdout, stderr) = await RunHook(MissingSocket(), DomainXml(null), "vm1", "prepare", "begin", "-");
        Assert.Equal(0, rc);
        Assert.Equal("", stdout);
        Assert.Equal("", stderr);
    }

    [Fact]
    public async Task MemberDomain_PrepareWithOverlaydDown_FailsClosedNamingTheSocket()
    {
        string socket = MissingSocket();
        var (rc, stdout, stderr) = await RunHook(socket, DomainXml(Member), "vm1", "prepare", "begin", "-");
        Assert.Equal(2, rc);
        Assert.Equal("", stdout);
        Assert.Contains("refusing to start OverlayKvm member 'vm1' without overlayd", stderr);
        Assert.Contains(socket, stderr);
        Assert.Contains("the socket does not exist", stderr);
    }

    [Theory]
    [InlineData("started", "begin")]
    [InlineData("release", "end")]
    [InlineData("reconnect", "begin")]
    public async Task MemberDomain_OtherOperationsWithOverlaydDown_FailOpenWithWarning(string operation, string sub)
    {
        var (rc, _, stderr) = await RunHook(MissingSocket(), DomainXml(Member), "vm1", operation, sub, "-");
        Assert.Equal(0, rc);
        Assert.Contains($"warning: {operation} {sub} of domain 'vm1' not reported to overlayd", stderr);
    }

    [Fact]
    public async Task NoArguments_ExitsThreeWithUsage()
    {
        var (rc, _, stderr) = await RunHook(MissingSocket(), "", []);
        Assert.Equal(3, rc);
        Assert.Contains("usage: overlay-hook DOMAIN OPERATION", stderr);
    }

    [Fact]
    public async Task OversizedStdin_AtPrepare_IsRefused()
    {
        var big = new StringBuilder(DomainXml(Member)).Append(' ', 5 * 1024 * 1024).ToString();
        var (rc, _, stderr) = await RunHook(MissingSocket(), big, "vm1", "prepare", "begin", "-");
        Assert.Equal(3, rc);
        Assert.Contains("exceeds 4194304 bytes", stderr);
    }

    [Fact]
    public async Task OversizedStdin_ForeignDomain_IsAllowed()
    {
        var big = new StringBuilder(DomainXml(null)).Append(' ', 5 * 1024 * 1024).ToString();
        var (rc, _, stderr) = await RunHook(MissingSocket(), big, "vm1", "prepare", "begin", "-");
        Assert.Equal(0, rc);
        Assert.Equal("", stderr);
    }

    [Fact]
    public async Task MemberDomain_OverlaydAllowsAndRefuses_ExitCodesAndReasonFollow()
    {
        using var store = new InMemoryOverlayStore();
        await using var host = await LibvirtApiHost.StartAsync(store, new Dictionary<string, string?>
        {
            ["Libvirt:EventServiceEnabled"] = "false",
            ["Placement:HostName"] = "h1",
        });
        var doc = System.Xml.Linq.XDocument.Parse(DomainXml(Member));
        OverlayKvm.HostDaemon.Libvirt.DomainXmlInjector.Inject(doc, new("/run/overlaykvm", 4, false));
        string equipped = doc.ToString();

        var refused = await RunHook(host.SocketPath, equipped, "vm1", "prepare", "begin", "-");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("overlayd refused prepare of domain 'vm1': domain 'vm1': group 'web' is not defined in overlayd", refused.Stderr);

        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        var allowed = await RunHook(host.SocketPath, equipped, "vm1", "prepare", "begin", "-");
        Assert.Equal(0, allowed.ExitCode);
        Assert.Equal("", allowed.Stderr);
        Assert.Equal(["prepare", "prepare"], host.Journal.Recent().Select(r => r.Operation).ToArray());
        Assert.Equal("h1", store.GetDomain("vm1")!.Host);
    }
}
