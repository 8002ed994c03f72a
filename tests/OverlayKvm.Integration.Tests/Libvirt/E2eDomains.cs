namespace OverlayKvm.Integration.Tests.Libvirt;

/// <summary>Tiny TCG domains: no disk, no OS. QEMU starts (SeaBIOS finds nothing to boot) and stops; enough for lifecycle and hooks.</summary>
internal static class E2eDomains
{
    public const string Ns = "https://overlaykvm.org/xmlns/domain/1";

    public static string RandomSuffix() => Guid.NewGuid().ToString("N")[..8];

    public static string Member(string group, string? app = null) =>
        $"<overlay:domain xmlns:overlay='{Ns}'><overlay:member group='{group}'{(app is null ? "" : $" app='{app}'")}/></overlay:domain>";

    public static string Xml(string name, string? metadata) => $"""
        <domain type='qemu'>
          <name>{name}</name>
          <memory unit='MiB'>64</memory>
          <vcpu>1</vcpu>
          {(metadata is null ? "" : $"<metadata>{metadata}</metadata>")}
          <os><type arch='x86_64' machine='q35'>hvm</type></os>
          <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
          <devices>
            <emulator>/usr/bin/qemu-system-x86_64</emulator>
            <memballoon model='none'/>
          </devices>
        </domain>
        """;
}
