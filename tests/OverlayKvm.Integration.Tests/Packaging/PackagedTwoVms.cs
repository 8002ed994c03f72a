using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>
/// Two namespace "VMs" driven by the overlayd the host package installed: namespaces joined by a veth underlay
/// (10.95.0.1 ↔ 10.95.0.2), an overlay-agent in each that maps the packaged daemon's engine regions from /dev/shm
/// (what ivshmem gives a real VM) and that overlayd reaches through a link in its channel directory
/// (/run/overlaykvm/DOMAIN.agent.sock, where libvirt's socket would be), apps client (10.78.0.1, pkupa) and server
/// (10.78.0.2, pkupb) running. Disposing removes apps, agents, links and namespaces; the regions go with the purge.
/// </summary>
internal sealed class PackagedTwoVms : IAsyncDisposable
{
    public const string ClientAddress = "10.78.0.1";
    public const string ServerAddress = "10.78.0.2";
    private const string DomainA = "pkupa", DomainB = "pkupb";
    private readonly CleanupStack _cleanup = new();
    private readonly List<string> _links = new();
    private readonly Overlayctl _ctl;

    private PackagedTwoVms(Overlayctl ctl)
    {
        _ctl = ctl;
        Work = Directory.CreateTempSubdirectory("okvm-pkup-").FullName;
    }

    public NetNamespace A { get; private set; } = null!;
    public NetNamespace B { get; private set; } = null!;
    public AgentProcess? AgentA { get; private set; }
    public AgentProcess? AgentB { get; private set; }
    public string Work { get; }

    /// <summary>Everything above, for group <paramref name="group"/> (already defined with 10.78.0.0/16).</summary>
    public static async Task<PackagedTwoVms> StartAsync(Overlayctl ctl, string group)
    {
        var vms = new PackagedTwoVms(ctl);
        try
        {
            vms.A = vms.Track(NetNamespace.Create("pkua"));
            vms.B = vms.Track(NetNamespace.Create("pkub"));
            NetTopology.TwoVms(vms.A, vms.B, "10.95.0");
            await ctl.OkAsync("domain-define", DomainA, "--address", "10.95.0.1");
            await ctl.OkAsync("domain-define", DomainB, "--address", "10.95.0.2");
            await ctl.OkAsync("app-define", group, "client", "--domain", DomainA, "--address", ClientAddress);
            await ctl.OkAsync("app-define", group, "server", "--domain", DomainB, "--address", ServerAddress);
            string[] flags = ["--engine-dir", "/dev/shm"];
            vms.AgentA = vms.Track(new AgentProcess(vms.A, Path.Combine(vms.Work, "a"), DomainA) { ExtraArguments = flags });
            vms.AgentB = vms.Track(new AgentProcess(vms.B, Path.Combine(vms.Work, "b"), DomainB) { ExtraArguments = flags });
            vms.AgentA.Start();
            vms.AgentB.Start();
            vms.Link(vms.AgentA);
            vms.Link(vms.AgentB);
            await vms.WaitConfiguredAsync();
            vms.StartApp(vms.AgentA, "client", ClientAddress);
            vms.StartApp(vms.AgentB, "server", ServerAddress);
            return vms;
        }
        catch
        {
            await vms.DisposeAsync();
            throw;
        }
    }

    public Task WaitConfiguredAsync() => ConfigApplied.WaitAsync(_ctl, AgentA!, AgentB!);

    public string Logs() => $"--- agent {DomainA} ---\n{AgentA?.Log}\n--- agent {DomainB} ---\n{AgentB?.Log}";

    private void Link(AgentProcess agent)
    {
        var link = Path.Combine(Path.GetDirectoryName(InstalledOverlayd.Socket)!, agent.Domain + ".agent.sock");
        File.Delete(link);
        File.CreateSymbolicLink(link, agent.ChannelSocket);
        _links.Add(link);
    }

    private void StartApp(AgentProcess agent, string app, string address)
    {
        Track(AppProcess.StartOnAdapter(agent, app, address));
    }

    private T Track<T>(T d)
        where T : IDisposable => _cleanup.Track(d);

    public async ValueTask DisposeAsync()
    {
        var failures = new List<Exception>();
        try
        {
            await _cleanup.DisposeAllAsync();
        }
        catch (AggregateException e)
        {
            failures.AddRange(e.InnerExceptions);
        }
        foreach (var link in _links)
        {
            try { File.Delete(link); }
            catch (IOException e) { failures.Add(e); }
        }
        Directory.Delete(Work, recursive: true);
        if (failures.Count > 0) throw new AggregateException("cleanup of the packaged two-VM scenario failed", failures);
    }
}
