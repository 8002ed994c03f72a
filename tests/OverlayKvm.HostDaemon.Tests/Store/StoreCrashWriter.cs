using System.Net;
using System.Runtime.CompilerServices;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Store;

namespace OverlayKvm.HostDaemon.Tests.Store;

/// <summary>
/// The child side of the crash test. The crash test starts this test assembly again with <c>dotnet exec</c> and
/// <see cref="DatabaseVariable"/> set; the module initializer then runs a burst of writes before the (empty)
/// generated test entry point is reached, printing "ack N" after each committed change, until the parent
/// kills it with SIGKILL. This keeps the writer in the test project (no extra project, no build at test time);
/// in a normal test run the variable is unset and the initializer returns at once.
/// </summary>
internal static class StoreCrashWriter
{
    public const string DatabaseVariable = "OVERLAYKVM_TEST_CRASH_WRITER_DB";

    public const string GroupName = "burst";

    [ModuleInitializer]
#pragma warning disable CA2255 // Deliberate: this is the child-process entry of the crash test (see the type's summary).
    internal static void RunWhenRequested()
#pragma warning restore CA2255
    {
        var path = Environment.GetEnvironmentVariable(DatabaseVariable);
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        Environment.Exit(Run(path));
    }

    private static int Run(string path)
    {
        using var store = new SqliteOverlayStore(path, "host-a");
        var output = Console.Out;
        store.DefineGroup(GroupName, IPNetwork.Parse("10.77.0.0/16"), ProtectionLevel.Sealed);
        output.WriteLine($"ack {store.CurrentVersion()} group");
        output.Flush();
        for (var i = 0; i < 20_000; i++)
        {
            // A manifest makes each row wider, so a kill is likely to land inside a page write.
            var manifest = new[]
            {
                new DataObject($"/srv/app{i}/bin", $"file:///images/app{i}.tar", null),
                new DataObject($"/srv/app{i}/conf", $"file:///images/app{i}.conf", new string('c', 64)),
            };
            var app = store.DefineApplication(GroupName, $"app{i}", null, $"vm{i % 8}", manifest);
            output.WriteLine($"ack {app.Version} {app.Name} {app.Address}");
            output.Flush();
        }

        return 0;
    }
}
