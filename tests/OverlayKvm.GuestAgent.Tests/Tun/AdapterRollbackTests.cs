using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Config;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Hosting;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.GuestAgent.Tests.Doubles;
using OverlayKvm.GuestAgent.Tun;
using Microsoft.Extensions.DependencyInjection;
using OverlayKvm.TestSupport.Agent;

namespace OverlayKvm.GuestAgent.Tests.Tun;

/// <summary>
/// Issue 14 item 10: when a later `ip` command of an app's setup failed, the policy rule and the address written
/// before it stayed in the kernel. `ip` is a recording double here (nothing is configured); the adapter itself is
/// a real TUN device (root, /dev/net/tun), named from the test's own group "ahroll" and removed by the rollback.
/// </summary>
public sealed class AdapterRollbackTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ah-adapter-rollback-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
        string device = AdapterManager.DeviceName("ahroll");
        if (TunDevice.Exists(device))
        {
            TunDevice.OpenOrCreate(device, persist: false).Destroy();
        }
    }

    [Fact]
    public void IpFailsAfterRuleAndAddress_BothAreRemoved_AndTheAdapterToo()
    {
        Assert.True(Environment.UserName == "root" && File.Exists("/dev/net/tun"),
            "needs root and /dev/net/tun (the adapter is a real TUN device): run the tests as root on a machine with the tun driver");
        var ip = new RecordingIp(failOn: "table");
        // The product's graph with the recording ip swapped in: the AdapterManager under test is the one AddGuestAgent builds.
        using var agent = new AgentDatapath(new CapturingSender(), TimeProvider.System, swap: services => services.AddSingleton<IpCommand>(ip),
            configure: o => { o.StateDirectory = _dir; o.ControlSocket = Path.Combine(_dir, "c.sock"); });
        agent.Publish(Document());
        var adapters = agent.AdapterManager;

        Assert.Throws<IpCommandException>(() => adapters.Register("x", "ahroll", Environment.ProcessId));

        int failed = ip.Commands.FindIndex(c => c.Contains("table 177", StringComparison.Ordinal) && c.StartsWith("route replace", StringComparison.Ordinal));
        Assert.True(failed > 0, string.Join("\n", ip.Commands));
        List<string> after = ip.Commands[(failed + 1)..];
        Assert.Contains(ip.Commands[..failed], c => c == "rule add from 10.77.0.1/32 lookup 177 priority 1000");
        Assert.Contains(ip.Commands[..failed], c => c.StartsWith("addr replace 10.77.0.1/32 dev ", StringComparison.Ordinal));
        Assert.Contains(after, c => c == "rule del from 10.77.0.1/32 lookup 177 priority 1000");
        Assert.Contains(after, c => c.StartsWith("addr del 10.77.0.1/32 dev ", StringComparison.Ordinal));
        Assert.Contains(after, c => c == "route flush table 177");
        Assert.False(TunDevice.Exists(AdapterManager.DeviceName("ahroll")), "the adapter created for the failed app stayed");
        Assert.Empty(adapters.Describe());
    }

    private static DomainConfigDocument Document()
    {
        var members = new List<MemberConfig> { new("x", "10.77.0.1", "vmA", "192.0.2.1", "h") };
        var app = new LocalAppConfig("ahroll", "x", "10.77.0.1", 177, [new RouteEntry("10.77.0.0/16", "adapter", 100)], []);
        var creds = new List<CredentialConfig> { new(1, RandomNumberGenerator.GetBytes(32), null) };
        return MemberRouting.Apply(new DomainConfigDocument(DomainConfigDocument.CurrentFormat, "vmA", 1, "", "192.0.2.1", "h", [app],
            [new GroupConfig("ahroll", "10.77.0.0/16", "Sealed", members, creds)]), OverlayKvm.Core.DirectoryService.PathClassifier.Standard);
    }

    /// <summary>Records every `ip` command line; the first Run whose line contains <c>failOn</c> after "route replace" fails.</summary>
    private sealed class RecordingIp(string failOn) : IpCommand
    {
        public List<string> Commands { get; } = [];

        public override string Run(params string[] args)
        {
            string line = string.Join(' ', args);
            Commands.Add(line);
            if (line.StartsWith("route replace", StringComparison.Ordinal) && line.Contains(failOn, StringComparison.Ordinal))
            {
                throw new IpCommandException("ip " + line, 2, "RTNETLINK answers: No such device (test double)");
            }
            return "";
        }

        public override (int ExitCode, string Stdout, string Stderr) TryRun(params string[] args)
        {
            Commands.Add(string.Join(' ', args));
            // "rule del" loops until it fails: there is nothing to delete in the double.
            return (args.Length > 1 && args[1] == "del" ? 2 : 0, "", "");
        }
    }
}
