using System.Net.Sockets;
using System.Text;
using OverlayKvm.Core.Libvirt;

namespace OverlayKvm.QemuHook;

/// <summary>
/// argv: DOMAIN OPERATION SUB-OPERATION EXTRA (libvirt's qemu hook convention); stdin: the domain XML.
/// Policy (docs/hook.md):
///  - a domain whose XML does not mention "overlaykvm" at all: exit 0 at once, overlayd is not asked;
///  - one that mentions it without our metadata (a region or channel path of ours): overlayd is asked too, so a
///    foreign domain that names another domain's channel or a group's region is refused (issue 14 items 1, 2);
///  - ours: ask overlayd; a refusal prints its reason and exits 1 (libvirt vetoes `prepare`);
///  - ours and overlayd unreachable: `prepare` fails closed (exit 2, the reason on stderr) so a member never
///    runs without its overlay; every other operation fails open (exit 0 with a warning), because refusing
///    `release` or `reconnect` would only make libvirt kill or leak a domain.
/// Nothing is written to stdout: for `migrate`/`restore` libvirt would take stdout as a replacement XML.
/// </summary>
internal static class HookMain
{
    /// <summary>libvirt domain XML is a few KiB; refuse to buffer an unbounded stdin. The same limit as overlayd's.</summary>
    internal const int MaxXmlBytes = DomainXmlLimit.MaxXmlBytes;

    public static int Run(string[] args, Stream stdin, TextWriter stderr)
    {
        if (args.Length < 2 || args[0].Length == 0 || args[1].Length == 0)
        {
            stderr.WriteLine("overlay-hook: usage: overlay-hook DOMAIN OPERATION [SUB-OPERATION [EXTRA]] < domain.xml (run by libvirt)");
            return HookExitCode.BadInvocation;
        }
        string domain = args[0], operation = args[1];
        string sub = args.Length > 2 ? args[2] : "-";
        string extra = args.Length > 3 ? args[3] : "-";
        bool isPrepare = operation == "prepare";

        string xml = ReadBounded(stdin, out bool truncated);
        if (truncated)
        {
            // A domain that never names anything of ours must not be blocked; if it does, we cannot judge it whole,
            // so refuse prepare.
            if (!xml.Contains(DomainXmlLimit.ForwardMarker, StringComparison.Ordinal))
            {
                return HookExitCode.Allow;
            }
            stderr.WriteLine($"overlay-hook: domain '{domain}' {operation}: domain XML on stdin exceeds {MaxXmlBytes} bytes");
            return isPrepare ? HookExitCode.BadInvocation : HookExitCode.Allow;
        }

        if (!MetadataProbe.ShouldForward(xml))
        {
            return HookExitCode.Allow;
        }

        var settings = HookSettings.FromEnvironment();
        try
        {
            var verdict = OverlaydClient.AskAsync(settings, new HookRequest(domain, operation, sub, extra, xml)).GetAwaiter().GetResult();
            if (verdict.Allow)
            {
                return HookExitCode.Allow;
            }
            stderr.WriteLine($"overlayd refused {operation} of domain '{domain}': {verdict.Reason ?? "(no reason given)"}");
            return isPrepare ? HookExitCode.Refused : HookExitCode.Allow;
        }
        catch (Exception ex) when (ex is OverlaydUnavailableException or HttpRequestException or IOException or SocketException)
        {
            // Any failure to get a verdict: fail closed only at prepare. Elsewhere (reconnect, release, …) a non-zero
            // exit makes libvirt kill or leak the domain (issue 14 item 10).
            if (isPrepare)
            {
                stderr.WriteLine($"overlay-hook: refusing to start OverlayKvm member '{domain}' without overlayd: {ex.Message} " +
                    $"(start overlayd, or set {HookSettings.SocketVariable} if it listens elsewhere)");
                return HookExitCode.OverlaydUnavailable;
            }
            stderr.WriteLine($"overlay-hook: warning: {operation} {sub} of domain '{domain}' not reported to overlayd: {ex.Message}");
            return HookExitCode.Allow;
        }
    }

    /// <summary>Reads up to <see cref="MaxXmlBytes"/>; the rest is drained (libvirt's writer must not see a broken pipe).</summary>
    private static string ReadBounded(Stream stdin, out bool truncated)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        truncated = false;
        int n;
        while ((n = stdin.Read(chunk, 0, chunk.Length)) > 0)
        {
            int keep = (int)Math.Min(n, MaxXmlBytes - buffer.Length);
            buffer.Write(chunk, 0, keep);
            truncated |= keep < n;
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
