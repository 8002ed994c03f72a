using System.Diagnostics;

namespace OverlayKvm.GuestAgent.Tun;

/// <summary>A failed `ip` invocation: names the command line and carries its stderr.</summary>
internal sealed class IpCommandException : Exception
{
    public IpCommandException(string commandLine, int exitCode, string stderr)
        : base($"'{commandLine}' failed with exit code {exitCode}: {stderr.Trim()}")
    {
        CommandLine = commandLine;
        ExitCode = exitCode;
        Stderr = stderr;
    }

    public string CommandLine { get; }

    public int ExitCode { get; }

    public string Stderr { get; }
}

/// <summary>
/// Configures links, addresses, routes and rules through iproute2's `ip`. Chosen over raw netlink because the
/// commands are few, happen only when an adapter is created or removed (never per packet), and their stderr is
/// exactly the clear error an operator needs. Arguments are passed as a list (no shell).
/// </summary>
internal class IpCommand
{
    private readonly string _ipPath;

    public IpCommand(string ipPath = "ip")
    {
        _ipPath = ipPath;
    }

    /// <summary>Runs `ip ARGS`; throws <see cref="IpCommandException"/> on a non-zero exit.</summary>
    public virtual string Run(params string[] args)
    {
        var (code, stdout, stderr) = TryRun(args);
        if (code != 0)
        {
            throw new IpCommandException(_ipPath + " " + string.Join(' ', args), code, stderr);
        }
        return stdout;
    }

    /// <summary>Runs `ip ARGS` and returns the outcome; for idempotent deletes where "not there" is fine.</summary>
    public virtual (int ExitCode, string Stdout, string Stderr) TryRun(params string[] args)
    {
        var psi = new ProcessStartInfo(_ipPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start '{_ipPath}'");
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.GetAwaiter().GetResult());
    }
}
