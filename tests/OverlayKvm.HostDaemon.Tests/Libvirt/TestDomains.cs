namespace OverlayKvm.HostDaemon.Tests.Libvirt;

/// <summary>Domain definitions for libvirt's built-in test driver (test:///default, no daemon).</summary>
internal static class TestDomains
{
    public const string Uri = "test:///default";

    /// <summary>A unique name, so tests sharing the process-wide test driver never collide.</summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)];

    public static string Xml(string name, string? metadata = null) => $"""
        <domain type='test'>
          <name>{name}</name>
          <memory unit='MiB'>64</memory>
          <vcpu>1</vcpu>
          <os><type arch='x86_64'>hvm</type></os>
          {(metadata is null ? "" : $"<metadata>{metadata}</metadata>")}
          <devices/>
        </domain>
        """;
}
