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

    /// <param name="stderr">Asked for only when there is something to say: the common "not ours" answer never sets up
    /// the console.</param>
    public static int Run(string[] args, Stream stdin, Func<TextWriter> stderr)
    {
        if (args.Length < 2 || args[0].Length == 0 || args[1].Length == 0)
        {
            stderr().WriteLine("overlay-hook: usage: overlay-hook DOMAIN OPERATION [SUB-OPERATION [EXTRA]] < domain.xml (run by libvirt)");
            return HookExitCode.BadInvocation;
        }
        string domain = args[0], operation = args[1];
        string sub = args.Length > 2 ? args[2] : "-";
        string extra = args.Length > 3 ? args[3] : "-";
        bool isPrepare = operation == "prepare";

        ReadOnlySpan<byte> xml = ReadBounded(stdin, out bool truncated);
        if (!MetadataProbe.ShouldForward(xml))
        {
            // Not ours and naming nothing of ours; a truncated one too: a domain that never names anything of ours
            // must not be blocked.
            return HookExitCode.Allow;
        }
        if (truncated)
        {
            // It names something of ours but we cannot judge it whole, so refuse prepare.
            stderr().WriteLine($"overlay-hook: domain '{domain}' {operation}: domain XML on stdin exceeds {MaxXmlBytes} bytes");
            return isPrepare ? HookExitCode.BadInvocation : HookExitCode.Allow;
        }

        var settings = HookSettings.FromEnvironment();
        try
        {
            // overlayd parses the XML as text; invalid UTF-8 reaches it replaced, as it always has.
            var verdict = OverlaydClient.Ask(settings, new HookRequest(domain, operation, sub, extra, Encoding.UTF8.GetString(xml)));
            if (verdict.Allow)
            {
                return HookExitCode.Allow;
            }
            stderr().WriteLine($"overlayd refused {operation} of domain '{domain}': {verdict.Reason ?? "(no reason given)"}");
            return isPrepare ? HookExitCode.Refused : HookExitCode.Allow;
        }
        catch (Exception ex) when (ex is OverlaydUnavailableException or IOException or SocketException)
        {
            // Any failure to get a verdict: fail closed only at prepare. Elsewhere (reconnect, release, …) a non-zero
            // exit makes libvirt kill or leak the domain (issue 14 item 10).
            if (isPrepare)
            {
                stderr().WriteLine($"overlay-hook: refusing to start OverlayKvm member '{domain}' without overlayd: {ex.Message} " +
                    $"(start overlayd, or set {HookSettings.SocketVariable} if it listens elsewhere)");
                return HookExitCode.OverlaydUnavailable;
            }
            stderr().WriteLine($"overlay-hook: warning: {operation} {sub} of domain '{domain}' not reported to overlayd: {ex.Message}");
            return HookExitCode.Allow;
        }
    }

    /// <summary>
    /// Reads up to <see cref="MaxXmlBytes"/> as bytes (decoded only if overlayd is asked); the rest is drained
    /// (libvirt's writer must not see a broken pipe). The buffer grows from a size that holds a usual domain.
    /// </summary>
    private static ReadOnlySpan<byte> ReadBounded(Stream stdin, out bool truncated)
    {
        var buffer = new byte[16 * 1024];
        int length = 0;
        truncated = false;
        while (true)
        {
            if (length == buffer.Length && buffer.Length < MaxXmlBytes)
            {
                Array.Resize(ref buffer, Math.Min(buffer.Length * 4, MaxXmlBytes));
            }
            if (length == buffer.Length)
            {
                // Full: drain the rest into a scratch area and remember that something was cut.
                Span<byte> scratch = stackalloc byte[4096];
                while (stdin.Read(scratch) > 0)
                {
                    truncated = true;
                }
                return buffer.AsSpan(0, length);
            }
            int n = stdin.Read(buffer, length, buffer.Length - length);
            if (n == 0)
            {
                return buffer.AsSpan(0, length);
            }
            length += n;
        }
    }
}
