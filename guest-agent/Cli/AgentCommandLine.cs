using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OverlayKvm.GuestAgent.Hosting;

namespace OverlayKvm.GuestAgent.Cli;

/// <summary>
/// overlay-agent's command line:
/// <code>
/// overlay-agent serve [--channel-socket PATH] [--control PATH] [--port N] [--bind ADDR] [--underlay-mtu N] [--state-dir DIR] [--engine-dir DIR | --no-engine] [--tun-offloads on|off]
/// overlay-agent run --app NAME [--group G] [--control PATH] -- CMD ARGS...
/// overlay-agent register|unregister --app NAME [--group G] --pid PID [--control PATH]
/// overlay-agent stat [--json] [--control PATH]
/// overlay-agent rules [--json] [--control PATH]
/// overlay-agent wait-app NAME [--group G] [--timeout-s N] [--control PATH]
/// overlay-agent systemd-generator NORMAL_DIR [EARLY_DIR LATE_DIR] [--apps-dir DIR]
/// </code>
/// Exit codes: 0 success, 1 the agent refused or failed, 2 usage error.
/// </summary>
internal static class AgentCommandLine
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.WriteLine(Usage);
            return args.Length == 0 ? ExitUsage : ExitOk;
        }
        string command = args[0];
        // Positional arguments (systemd passes the generator its output directories; wait-app takes the app's name).
        if (command == "systemd-generator")
        {
            return SystemdGeneratorCommand.Run(args[1..]);
        }
        if (command == "wait-app")
        {
            try
            {
                return await WaitAppCommand.RunAsync(args[1..]).ConfigureAwait(false);
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine($"overlay-agent wait-app: {ex.Message}");
                return ExitUsage;
            }
        }
        int dashDash = Array.IndexOf(args, "--");
        string[] optionArgs = dashDash < 0 ? args[1..] : args[1..dashDash];
        string[] trailing = dashDash < 0 ? [] : args[(dashDash + 1)..];
        ParsedOptions parsed;
        try
        {
            parsed = ParsedOptions.Parse(optionArgs);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"overlay-agent {command}: {ex.Message}");
            return ExitUsage;
        }
        try
        {
            return command switch
            {
                "serve" => await ServeAsync(parsed).ConfigureAwait(false),
                "run" => await RunAppCommand.RunAsync(parsed, trailing).ConfigureAwait(false),
                "register" or "unregister" => await RegistrationCommand.RunAsync(command, parsed).ConfigureAwait(false),
                "stat" => await StatCommand.RunAsync(parsed).ConfigureAwait(false),
                "rules" => await RulesCommand.RunAsync(parsed).ConfigureAwait(false),
                _ => UnknownCommand(command),
            };
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"overlay-agent {command}: {ex.Message}");
            return ExitUsage;
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"overlay-agent {command}: {ex.Message}");
            return ExitFailed;
        }
    }

    private static int UnknownCommand(string command)
    {
        Console.Error.WriteLine($"overlay-agent: unknown command '{command}'\n{Usage}");
        return ExitUsage;
    }

    private static async Task<int> ServeAsync(ParsedOptions parsed)
    {
        var options = new AgentOptions
        {
            ChannelSocket = parsed.Get("channel-socket"),
            ControlSocket = parsed.Get("control") ?? AgentOptions.DefaultControlSocket,
            BindAddress = parsed.Get("bind") ?? "0.0.0.0",
            StateDirectory = parsed.Get("state-dir") ?? "/var/lib/overlay-agent",
            EngineDirectory = parsed.Get("engine-dir"),
            EngineEnabled = !parsed.Has("no-engine"),
            AppsDirectory = parsed.Get("apps-dir") ?? Services.AppsDirectory.DefaultPath,
            SystemBusAddress = parsed.Get("system-bus"),
        };
        options.OverlayPort = parsed.GetInt("port") ?? options.OverlayPort;
        ApplyTransmission(parsed, options.Transmission);
        options.UnderlayMtu = parsed.GetInt("underlay-mtu") ?? options.UnderlayMtu;
        options.TunOffloads = parsed.Get("tun-offloads") switch
        {
            null => options.TunOffloads,
            "on" => true,
            "off" => false,
            string other => throw new ArgumentException($"option --tun-offloads: '{other}' is not 'on' or 'off'"),
        };
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            Console.Error.WriteLine("overlay-agent serve: " + string.Join("; ", errors));
            return ExitUsage;
        }
        // No defaults: the agent takes its settings from its command line only, and the default content root
        // (the working directory) with reload-on-change would watch it recursively — from "/" in a VM that is every
        // directory of /sys and /proc (46,000 inotify watches, ~10 s of start-up under TCG).
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Services.AddGuestAgent(options);
        using IHost host = builder.Build();
        try
        {
            await host.RunAsync().ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine($"overlay-agent serve: {ex.Message}");
            return ExitFailed;
        }
        return ExitOk;
    }

    private static void ApplyTransmission(ParsedOptions parsed, Policy.TransmissionOptions t)
    {
        if (parsed.GetInt("deny-ttl-ms") is int deny)
        {
            t.DenyTtl = TimeSpan.FromMilliseconds(deny);
        }
        if (parsed.GetInt("allow-ttl-ms") is int allow)
        {
            t.AllowTtl = TimeSpan.FromMilliseconds(allow);
        }
        if (parsed.GetInt("negotiation-timeout-ms") is int timeout)
        {
            t.NegotiationTimeout = TimeSpan.FromMilliseconds(timeout);
        }
        t.QueuePerFlow = parsed.GetInt("queue-per-flow") ?? t.QueuePerFlow;
        t.PendingMode = parsed.Get("pending") switch
        {
            null or "queue" => Policy.PendingMode.Queue,
            "discard" => Policy.PendingMode.Discard,
            string other => throw new ArgumentException($"option --pending: '{other}' is not 'queue' or 'discard'"),
        };
        t.StatefulReplies = !parsed.Has("no-stateful-replies");
    }

    public const string Usage = """
        usage:
          overlay-agent serve [--channel-socket PATH] [--control PATH] [--port N] [--bind ADDR] [--underlay-mtu N] [--state-dir DIR] [--engine-dir DIR | --no-engine]
                              [--tun-offloads on|off] [--deny-ttl-ms N] [--allow-ttl-ms N] [--negotiation-timeout-ms N] [--pending queue|discard]
                              [--queue-per-flow N] [--no-stateful-replies] [--apps-dir DIR] [--system-bus ADDRESS]
          overlay-agent run --app NAME [--group G] [--control PATH] -- CMD ARGS...
          overlay-agent register|unregister --app NAME [--group G] --pid PID [--control PATH]
          overlay-agent stat [--json] [--control PATH]
          overlay-agent rules [--json] [--control PATH]
          overlay-agent wait-app NAME [--group G] [--timeout-s N] [--control PATH]
          overlay-agent systemd-generator NORMAL_DIR [EARLY_DIR LATE_DIR] [--apps-dir DIR] [--agent-path PATH]
        """;
}

/// <summary>`--name value` pairs and bare `--flag`s.</summary>
internal sealed class ParsedOptions
{
    private static readonly HashSet<string> Flags = new(StringComparer.Ordinal) { "json", "no-engine", "no-stateful-replies" };
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static ParsedOptions Parse(string[] args)
    {
        var parsed = new ParsedOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length < 3)
            {
                throw new ArgumentException($"unexpected argument '{a}'");
            }
            string name = a[2..];
            if (Flags.Contains(name))
            {
                parsed._values[name] = "true";
                continue;
            }
            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"option --{name} needs a value");
            }
            parsed._values[name] = args[++i];
        }
        return parsed;
    }

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public bool Has(string name) => _values.ContainsKey(name);

    public string Require(string name) => Get(name) ?? throw new ArgumentException($"option --{name} is required");

    public int? GetInt(string name)
    {
        string? v = Get(name);
        if (v is null)
        {
            return null;
        }
        return int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw new ArgumentException($"option --{name}: '{v}' is not a non-negative integer");
    }
}
