using System.Diagnostics;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.E2e;
using OverlayKvm.Integration.Tests.Harness;
using OverlayKvm.Integration.Tests.Libvirt;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>
/// Issue 13, show 2: two real Debian 12 VMs with systemd (packaging/debian-image, TCG) install overlay-agent.deb
/// with dpkg -i and get their configuration from a real overlayd over virtio-serial. In the server VM redis-server
/// is declared as app "cache" in /etc/overlay-agent/apps.d: <c>systemctl start redis-server</c> makes the adapter
/// appear with the app's address, redis binds that address (the generator's ExecStartPre drop-in ran first),
/// <c>redis-cli</c> run as app "client" in the other VM reaches it over the overlay, and
/// <c>systemctl stop redis-server</c> removes the adapter. Prints the boot → agent configured split.
/// Everything (domains, network, overlayd, files) is removed afterwards, also on failure.
/// </summary>
[Collection(LibvirtdCollection.Name)]
public sealed class DebianVmAgentTests(ITestOutputHelper output)
{
    private const string Group = "pkdeb", Cidr = "10.79.0.0/16";
    private const string CacheApp = "cache", CacheAddress = "10.79.0.2";
    private const string ClientApp = "client", ClientAddress = "10.79.0.1";
    private const string ServerVm = "debsrv", ClientVm = "debcli";
    private const string ServerUnderlay = "192.168.124.12", ClientUnderlay = "192.168.124.11";
    private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task DebianVm_AgentDebInstalled_RedisUnitAsApp_ReachedOverOverlay_AdapterFollowsTheUnit()
    {
        Prerequisites.RequireRootAndTools("dpkg-deb", "qemu-img", "mke2fs");
        var narration = new List<string>();
        void Log(string line)
        {
            lock (narration) narration.Add($"{DateTime.UtcNow:HH:mm:ss} {line}");
        }
        LibvirtDaemons? libvirt = null;
        DaemonProcess? daemon = null;
        IsolatedNetwork? network = null;
        DebianVm? server = null, client = null;
        try
        {
            libvirt = await LibvirtDaemons.EnsureAsync(Log);
            var imageTask = DebianImage.BuildAsync(Log);
            var debTask = DebPackages.BuildAsync("0.1.0");
            var image = await imageTask;
            var (_, agentDeb) = await debTask;

            daemon = new DaemonProcess();
            AllowQemuIntoChannelDir(daemon);
            await daemon.StartAsync();
            var ctl = new Overlayctl(daemon.Socket);
            await ctl.OkAsync("group-define", Group, "--cidr", Cidr);
            await ctl.OkAsync("domain-define", ServerVm, "--address", ServerUnderlay);
            await ctl.OkAsync("domain-define", ClientVm, "--address", ClientUnderlay);
            await ctl.OkAsync("app-define", Group, CacheApp, "--domain", ServerVm, "--address", CacheAddress);
            await ctl.OkAsync("app-define", Group, ClientApp, "--domain", ClientVm, "--address", ClientAddress);
            var version = (await ctl.JsonAsync("domain-config", ServerVm)).GetProperty("version").GetInt64();

            network = await IsolatedNetwork.CreateAsync(Log);
            server = await DebianVm.DefineAsync(image, network.Name, Path.Combine(daemon.ChannelDir, ServerVm + ".agent.sock"), [agentDeb], Log);
            client = await DebianVm.DefineAsync(image, network.Name, Path.Combine(daemon.ChannelDir, ClientVm + ".agent.sock"), [agentDeb], Log);

            // Both VMs boot and install the agent at once (TCG on shared cores: one after the other would double it).
            // The app is declared before the package goes in, as an image builder would: the agent reads apps.d when
            // it starts (a declaration added later takes an agent restart).
            var declare = $"mkdir -p /etc/overlay-agent/apps.d && printf 'app={CacheApp}\\nunit=redis-server.service\\n' > /etc/overlay-agent/apps.d/redis.conf";
            var bringUp = await Task.WhenAll(
                BringUpAsync(ctl, server, ServerVm, ServerUnderlay, version, Log, declare),
                BringUpAsync(ctl, client, ClientVm, ClientUnderlay, version, Log, null));
            foreach (var b in bringUp) output.WriteLine(b);
            var srv = server.Shell!;
            var cli = client.Shell!;

            // The server VM: redis-server declared as app "cache", bound to the app's overlay address.
            await srv.CheckAsync("systemctl daemon-reload", CommandTimeout);
            var dropIn = await srv.CheckAsync("systemctl cat redis-server.service | sed -n '/^# \\/run\\/systemd\\/generator/,$p'", CommandTimeout);
            output.WriteLine($"the generator's drop-in:\n{dropIn}");
            Assert.Contains($"wait-app {CacheApp}", dropIn);
            await srv.CheckAsync($"sed -i -e 's/^bind .*/bind 127.0.0.1 {CacheAddress}/' -e 's/^protected-mode .*/protected-mode no/' /etc/redis/redis.conf", CommandTimeout);
            Assert.Equal("", await srv.CheckAsync("ip -o link show | grep ' ovk' || true", CommandTimeout));

            var started = Stopwatch.StartNew();
            var (startStatus, startOut) = await srv.RunAsync("systemctl start redis-server.service", CommandTimeout);
            var startTook = started.Elapsed;
            Assert.True(startStatus == 0, $"systemctl start redis-server exited {startStatus}: {startOut}\n" +
                await srv.CheckAsync("systemctl status --no-pager -l redis-server.service; journalctl --no-pager -n 30 -u redis-server -u overlay-agent | tail -c 2500 || true", CommandTimeout));
            var adapter = await srv.CheckAsync("ip -o -4 addr show | grep ' ovk'", CommandTimeout);
            output.WriteLine($"systemctl start redis-server returned after {startTook.TotalSeconds:F1} s; the adapter: {adapter}");
            Assert.Contains($"{CacheAddress}/32", adapter);
            var listening = await srv.CheckAsync("ss -Htln 'sport = :6379'", CommandTimeout);
            Assert.Contains($"{CacheAddress}:6379", listening);

            // The client VM: redis-cli as app "client" reaches redis over the overlay.
            var (replyStatus, reply) = await cli.RunAsync(
                $"timeout 60 overlay-agent run --app {ClientApp} -- sh -c 'redis-cli --raw -h {CacheAddress} set ovk-key from-{ClientVm} && redis-cli --raw -h {CacheAddress} get ovk-key'",
                CommandTimeout);
            if (replyStatus != 0)
            {
                // Both agents' counters say where the requests went (sealed path out/in, drops by reason).
                var clientStat = (await cli.RunAsync("overlay-agent stat", CommandTimeout)).Output;
                var serverStat = (await srv.RunAsync("overlay-agent stat; ss -tn", CommandTimeout)).Output;
                Assert.Fail($"redis-cli in {ClientVm} exited {replyStatus}: {reply}\n--- {ClientVm} stat ---\n{clientStat}\n--- {ServerVm} stat ---\n{serverStat}");
            }
            output.WriteLine($"redis-cli in {ClientVm} as app {ClientApp}:\n{reply}");
            Assert.Equal(["OK", $"from-{ClientVm}"], reply.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
            var stat = await cli.CheckAsync("overlay-agent stat", CommandTimeout);
            output.WriteLine($"overlay-agent stat in {ClientVm}:\n{stat}");

            // Stopping the unit counts the app out: the adapter goes (the agent follows the unit, no polling).
            await srv.CheckAsync("systemctl stop redis-server.service", CommandTimeout);
            var stopped = Stopwatch.StartNew();
            var (goneStatus, links) = await srv.RunAsync(
                "for i in $(seq 100); do ip -o link show | grep -q ' ovk' || break; sleep 0.2; done; ip -o link show | grep ' ovk'", CommandTimeout);
            output.WriteLine($"after systemctl stop redis-server: adapter gone after {stopped.Elapsed.TotalSeconds:F1} s (as the console saw it)");
            Assert.True(goneStatus == 1, $"an ovk adapter is still there 20 s after systemctl stop redis-server:\n{links}");
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\n--- {ServerVm} console ---\n{SerialLog.Tail(server?.ConsoleText() ?? "", 4000)}" +
                $"\n--- {ClientVm} console ---\n{SerialLog.Tail(client?.ConsoleText() ?? "", 3000)}\n--- overlayd ---\n{SerialLog.Tail(daemon?.Log ?? "", 3000)}", e);
        }
        finally
        {
            lock (narration) foreach (var line in narration) output.WriteLine("[vm] " + line);
            if (client is not null) await client.DisposeAsync();
            if (server is not null) await server.DisposeAsync();
            if (network is not null) await network.DisposeAsync();
            if (daemon is not null) await daemon.DisposeAsync();
            if (libvirt is not null) await libvirt.DisposeAsync();
        }
    }

    /// <summary>
    /// Boots one VM to its root shell, gives eth0 its underlay address, runs <paramref name="beforeInstall"/>, installs
    /// overlay-agent.deb from the package disk with dpkg -i, and waits until overlayd sees the agent connected with the configuration acknowledged.
    /// Returns the timings, for the reader.
    /// </summary>
    private static async Task<string> BringUpAsync(Overlayctl ctl, DebianVm vm, string domain, string underlay, long version, Action<string> log,
        string? beforeInstall)
    {
        var watch = Stopwatch.StartNew();
        var virshStart = await vm.StartAsync();
        var shell = vm.Shell!;
        await shell.WaitReadyAsync(BootTimeout);
        var booted = watch.Elapsed;
        log($"{domain} ({vm.Name}): root shell on the console {booted.TotalSeconds:F1} s after virsh start");
        var analyze = (await shell.RunAsync("systemd-analyze time 2>&1 | head -n 1", CommandTimeout)).Output;
        await shell.CheckAsync($"ip addr add {underlay}/24 dev eth0 && ip link set eth0 up", CommandTimeout);
        await shell.CheckAsync("mkdir -p /mnt/pkgs && mount -o ro /dev/vdb /mnt/pkgs", CommandTimeout);
        if (beforeInstall is not null) await shell.CheckAsync(beforeInstall, CommandTimeout);
        var installStart = watch.Elapsed;
        var installed = await shell.CheckAsync("dpkg -i /mnt/pkgs/overlay-agent_*.deb 2>&1", TimeSpan.FromMinutes(3));
        var installEnd = watch.Elapsed;
        log($"{domain}: dpkg -i\n{installed}");
        await WaitConfiguredAsync(ctl, domain, version, shell);
        var configured = watch.Elapsed;
        return $"{domain}: virsh start {virshStart.TotalSeconds:F1} s; root shell {booted.TotalSeconds:F1} s after virsh start " +
            $"({analyze.Trim()}); dpkg -i overlay-agent.deb {(installEnd - installStart).TotalSeconds:F1} s; agent configured " +
            $"{(configured - installEnd).TotalSeconds:F1} s after dpkg -i returned; boot → agent configured {configured.TotalSeconds:F1} s " +
            $"(of which waiting for our console commands {(installStart - booted).TotalSeconds:F1} s)";
    }

    /// <summary>Waits until overlayd shows the domain's agent connected with <paramref name="version"/> acknowledged; else adds the unit's journal.</summary>
    private static async Task WaitConfiguredAsync(Overlayctl ctl, string domain, long version, SerialShell shell)
    {
        try
        {
            await ChannelAck.WaitAsync(ctl, domain, version, TimeSpan.FromMinutes(2));
        }
        catch (TimeoutException e)
        {
            var journal = (await shell.RunAsync("systemctl status --no-pager -l overlay-agent.service; journalctl --no-pager -n 30 -u overlay-agent", CommandTimeout)).Output;
            throw new TimeoutException($"{e.Message}\n{journal}", e);
        }
    }

    /// <summary>QEMU (libvirt's qemu user) binds the agents' channel sockets in the daemon's channel directory.</summary>
    private static void AllowQemuIntoChannelDir(DaemonProcess daemon)
    {
        Directory.CreateDirectory(daemon.ChannelDir);
        File.SetUnixFileMode(daemon.Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(daemon.ChannelDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }
}
