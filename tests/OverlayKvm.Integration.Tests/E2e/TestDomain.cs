using System.Diagnostics;
using System.Security;
using System.Security.Cryptography;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>What a test domain boots and what it is wired to.</summary>
internal sealed record TestDomainSpec(GuestImage Image)
{
    /// <summary>Appended to the base kernel command line (console=ttyS0 panic=-1 quiet no_timer_check).</summary>
    public string ExtraCmdline { get; init; } = "";
    public int MemoryMiB { get; init; } = 256;
    public int ShmemMiB { get; init; } = 4;
    /// <summary>An isolated libvirt network to put a virtio NIC on, or null for no NIC.</summary>
    public string? NetworkName { get; init; }
    /// <summary>Where QEMU binds the agent channel's socket; null: agent.sock in the domain's temp directory.</summary>
    public string? AgentSocketPath { get; init; }
    /// <summary>
    /// The ivshmem region's &lt;shmem name&gt; when it is shared and owned elsewhere (overlayd's group region: the
    /// domain then leaves /dev/shm/NAME alone on dispose); null: a private region named after the domain.
    /// </summary>
    public string? SharedShmemName { get; init; }
    /// <summary>The libvirtd that defines and runs it (a test host's own); null: the system libvirtd.</summary>
    public string? LibvirtUri { get; init; }
    /// <summary>The libvirt domain name; null: a random one with <see cref="TestDomain.NamePrefix"/>.</summary>
    public string? Name { get; init; }
    /// <summary>
    /// A host bridge to put a virtio NIC on (instead of <see cref="NetworkName"/>): how domains of two libvirtds
    /// share one underlay. Its tap is <see cref="TapName"/> (two libvirtds would both pick vnet0 otherwise).
    /// </summary>
    public string? Bridge { get; init; }
    public string? TapName { get; init; }
}

/// <summary>
/// A libvirt domain built from xml-templates/e2e/probe-domain.xml with its files in a private temp directory
/// (serial log, agent channel socket, the rendered XML). Disposing destroys and undefines it and removes its
/// files and its ivshmem backing file, whether or not the test passed.
/// </summary>
internal sealed class TestDomain : IAsyncDisposable
{
    public const string NamePrefix = "okve2e-";
    // no_timer_check: on a busy host the emulated CPU can be too slow for the kernel's IO-APIC timer check, which
    // then panics ("IO-APIC + timer doesn't work!"); seen under load with the Debian VMs.
    private const string BaseCmdline = "console=ttyS0 panic=-1 quiet no_timer_check";
    private readonly Action<string> _log;
    private bool _defined;
    private readonly string? _sharedShmemName;

    private TestDomain(string name, string directory, Action<string> log, string? agentSocketPath, string? sharedShmemName, string uri)
    {
        Name = name;
        Uri = uri;
        _sharedShmemName = sharedShmemName;
        Directory = directory;
        _log = log;
        AgentSocketPath = agentSocketPath ?? Path.Combine(directory, "agent.sock");
        Serial = new SerialLog(Path.Combine(directory, "serial.log"));
    }

    public string Name { get; }
    /// <summary>The libvirtd this domain lives on (<see cref="MovedTo"/> after a live migration).</summary>
    public string Uri { get; private set; }
    public string ShmemName => _sharedShmemName ?? Name;
    public string Directory { get; }
    public string AgentSocketPath { get; }
    public SerialLog Serial { get; }

    public static async Task<TestDomain> DefineAsync(TestDomainSpec spec, Action<string> log)
    {
        var name = spec.Name ?? NamePrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var directory = System.IO.Directory.CreateTempSubdirectory((spec.Name is null ? name : NamePrefix + name) + ".").FullName;
        // QEMU runs as libvirt-qemu and must reach the channel socket's directory.
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var domain = new TestDomain(name, directory, log, spec.AgentSocketPath, spec.SharedShmemName, spec.LibvirtUri ?? Virsh.Uri);
        try
        {
            var xmlPath = Path.Combine(directory, "domain.xml");
            await File.WriteAllTextAsync(xmlPath, domain.Render(spec));
            // Marked before the call: a define that times out on our side may still complete in libvirtd,
            // and cleanup must then undefine it.
            domain._defined = true;
            await Virsh.RunOnAsync(domain.Uri, "define", xmlPath);
            log($"defined {name} (files in {directory})");
            return domain;
        }
        catch
        {
            await domain.DisposeAsync();
            throw;
        }
    }

    private string Render(TestDomainSpec spec)
    {
        var template = File.ReadAllText(RepoPaths.E2eTemplate("probe-domain.xml"));
        var cmdline = spec.ExtraCmdline.Length == 0 ? BaseCmdline : BaseCmdline + " " + spec.ExtraCmdline;
        var nic = (spec.NetworkName, spec.Bridge) switch
        {
            (not null, _) => $"    <interface type='network'><source network='{Escape(spec.NetworkName)}'/><model type='virtio'/></interface>",
            (null, not null) => $"    <interface type='bridge'><source bridge='{Escape(spec.Bridge)}'/>"
                + (spec.TapName is null ? "" : $"<target dev='{Escape(spec.TapName)}'/>") + "<model type='virtio'/></interface>",
            _ => "",
        };
        var values = new Dictionary<string, string>
        {
            ["@NAME@"] = Escape(Name),
            ["@MEMORY_MIB@"] = spec.MemoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["@KERNEL@"] = Escape(spec.Image.Kernel),
            ["@INITRD@"] = Escape(spec.Image.Initrd),
            ["@CMDLINE@"] = Escape(cmdline),
            ["@SERIAL_LOG@"] = Escape(Serial.Path),
            ["@AGENT_SOCKET@"] = Escape(AgentSocketPath),
            ["@SHMEM_NAME@"] = Escape(ShmemName),
            ["@SHMEM_MIB@"] = spec.ShmemMiB.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["@INTERFACE@"] = nic,
        };
        foreach (var (key, value) in values)
        {
            if (!template.Contains(key, StringComparison.Ordinal))
                throw new InvalidDataException($"{RepoPaths.E2eTemplate("probe-domain.xml")} has no {key} placeholder");
            template = template.Replace(key, value, StringComparison.Ordinal);
        }
        return template;
    }

    private static string Escape(string value) => SecurityElement.Escape(value);

    /// <summary>Records that the domain now lives on the libvirtd at <paramref name="uri"/> (migrated there).</summary>
    public void MovedTo(string uri) => Uri = uri;

    /// <summary>Starts the domain; returns how long 'virsh start' took.</summary>
    public async Task<TimeSpan> StartAsync()
    {
        var watch = Stopwatch.StartNew();
        await Virsh.RunOnAsync(Uri, "start", Name);
        return watch.Elapsed;
    }

    public async Task<string> StateAsync() => (await Virsh.RunOnAsync(Uri, "domstate", Name)).Trim();

    /// <summary>Waits until the domain is shut off (the guest powered off); throws with its state on timeout.</summary>
    public async Task WaitShutOffAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string state;
        while ((state = await StateAsync()) != "shut off")
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"domain {Name} is still '{state}' after {timeout.TotalSeconds} s");
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        var failures = new List<Exception>();
        if (_defined)
        {
            await Virsh.DestroyAndUndefineAsync(Name, failures, Uri);
            _defined = false;
        }
        try
        {
            if (_sharedShmemName is null) ShmBackingFile.Delete(ShmemName);
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException e)
        {
            failures.Add(e);
        }
        _log($"cleaned up {Name}");
        if (failures.Count > 0)
            throw new AggregateException($"cleanup of test domain {Name} failed", failures);
    }
}
