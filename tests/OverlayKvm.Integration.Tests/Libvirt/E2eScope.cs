using OverlayKvm.HostDaemon.Libvirt;

namespace OverlayKvm.Integration.Tests.Libvirt;

/// <summary>Names and host resources of one test, all removed at the end even when the test fails.</summary>
internal sealed class E2eScope : IDisposable
{
    private readonly List<string> _domains = [];
    private readonly List<string> _groups = [];

    public E2eScope()
    {
        Suffix = E2eDomains.RandomSuffix();
        AgentSocketDirectory = Path.Combine(Path.GetTempPath(), $"okvmt-{Suffix}");
        Directory.CreateDirectory(AgentSocketDirectory);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("libvirt end-to-end tests run on Linux only");
        }
        // Root-only on purpose: libvirtd creates the agent sockets and passes them to QEMU, as in production.
        File.SetUnixFileMode(AgentSocketDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Suffix { get; }
    public string AgentSocketDirectory { get; }

    public string Domain(string role)
    {
        string name = $"okvmt-{role}-{Suffix}";
        _domains.Add(name);
        return name;
    }

    public string Group(string role)
    {
        string name = $"{role}-{Suffix}";
        _groups.Add(name);
        return name;
    }

    public void Dispose()
    {
        var failures = new List<string>();
        try
        {
            using var conn = LibvirtConnection.Open(LibvirtdFixture.Uri);
            foreach (string name in _domains)
            {
                using var d = conn.TryLookupByName(name);
                if (d is null)
                {
                    continue;
                }
                try
                {
                    if (d.IsActive)
                    {
                        d.Destroy();
                    }
                    d.Undefine();
                }
                catch (LibvirtException ex)
                {
                    failures.Add(ex.Message);
                }
            }
        }
        finally
        {
            foreach (string group in _groups)
            {
                // QEMU leaves the ivshmem backing file behind after the domain stops.
                File.Delete($"/dev/shm/{DomainXmlInjector.ShmemName(group)}");
            }
            Directory.Delete(AgentSocketDirectory, recursive: true);
        }
        if (failures.Count > 0)
        {
            throw new InvalidOperationException("cleanup of test domains failed: " + string.Join("; ", failures));
        }
    }
}
