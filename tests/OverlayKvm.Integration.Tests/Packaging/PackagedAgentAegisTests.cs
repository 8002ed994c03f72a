using OverlayKvm.Integration.Tests.Agent;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.EndToEnd;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>
/// Issue 16 follow-up: the overlay-agent .deb ships the libsodium.so that AEGIS-256 needs (Debian 12's 1.0.18 lacks
/// AEGIS) beside the agent in /usr/lib/overlay-agent/, /usr/bin/overlay-agent links to it, and the packaged agent,
/// started through that link, finds the library: two of them carry a TCP transfer in an AEGIS-256 group. The .deb is
/// unpacked with dpkg-deb -x into a temporary folder, not installed, so the host's libvirt daemons are not touched.
/// Without the library the agents refuse the document ("needs libsodium.so beside overlay-agent") and the
/// scenario's wait for the applied configuration fails.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class PackagedAgentAegisTests(ITestOutputHelper output)
{
    private const string Library = "./usr/lib/overlay-agent/libsodium.so";
    private const string Link = "./usr/bin/overlay-agent -> ../lib/overlay-agent/overlay-agent";

    [Fact]
    public async Task PackagedAgent_ThroughUsrBinLink_LoadsBundledLibsodium_AegisGroupCarriesTraffic()
    {
        Prerequisites.RequireRootAndTools("dpkg-deb", "tcpdump");
        Assert.True(System.Runtime.Intrinsics.X86.Aes.IsSupported, "prerequisite missing: this CPU has no AES-NI, which AEGIS-256 groups need");
        var (_, guest) = await DebPackages.BuildAsync("0.1.0");

        // `dpkg-deb -c` lines: mode, owner, size, date, time, path (and "-> target" for links).
        var contents = await ProcessResult.RunAsync("dpkg-deb", ["-c", guest]);
        Assert.True(contents.ExitCode == 0, $"dpkg-deb -c {guest}: {contents}");
        var lines = contents.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string? library = lines.SingleOrDefault(l => l.EndsWith(" " + Library, StringComparison.Ordinal));
        Assert.True(library is not null && library.StartsWith("-rw-r--r-- root/root", StringComparison.Ordinal),
            $"{Path.GetFileName(guest)} should hold {Library} mode 0644 owned by root, lists:\n{contents.Stdout}");
        Assert.True(lines.Any(l => l.StartsWith('l') && l.EndsWith(" " + Link, StringComparison.Ordinal)),
            $"{Path.GetFileName(guest)} should hold the link {Link}, lists:\n{contents.Stdout}");

        var root = Directory.CreateTempSubdirectory("okvm-pkaegis-").FullName;
        try
        {
            var unpacked = await ProcessResult.RunAsync("dpkg-deb", ["-x", guest, root]);
            Assert.True(unpacked.ExitCode == 0, $"dpkg-deb -x {guest}: {unpacked}");
            string agent = Path.Combine(root, "usr", "bin", "overlay-agent");
            await using var s = await WebGroupScenario.CreateAsync("pkaa", "pkab", "10.94.0", [("server", "10.1.0.2")],
                groupOptions: ["--cipher", "aegis-256"], agentBinary: agent);
            try
            {
                // CreateAsync returned: both packaged agents applied the document holding the AEGIS-256 group.
                Assert.Equal("aegis-256", (await s.Ctl.JsonAsync("domain-config", "vmA")).GetProperty("groups")[0].GetProperty("cipher").GetString());
                s.StartApp(s.AgentA, "client", WebGroupScenario.Client);
                s.StartApp(s.AgentB, "server", "10.1.0.2");
                var data = TcpTransfer.MakeData(1 << 20);
                var (sent, received) = await TcpTransfer.RunAsync(s.B, "10.1.0.2", s.A, WebGroupScenario.Client, data, TimeSpan.FromSeconds(60));
                Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
                foreach (var a in new[] { s.AgentA, s.AgentB })
                    foreach (var reason in new[] { "auth", "cipher" })
                        Assert.True(AgentControl.Drop(a.ControlSocket, reason) == 0, $"{a.Domain} dropped packets as {reason}: {AgentControl.Stat(a.ControlSocket)}");
                output.WriteLine($"1 MiB arrived identical over AEGIS-256 between the packaged agents ({agent})");
            }
            catch
            {
                output.WriteLine(s.Logs());
                throw;
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
