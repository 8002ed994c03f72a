using System.Net;
using OverlayKvm.Core.Model;

namespace OverlayKvm.HostDaemon.Tests.Store;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SqliteOverlayStorePersistenceTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Reopen_GroupAndTwoApps_SameDataAndVersions()
    {
        var manifest = new[] { new DataObject("/srv/web/index.html", "file:///srv/src/index.html", new string('a', 64)) };
        List<ApplicationGroup> groupsBefore;
        List<Application> appsBefore;
        List<DomainRecord> domainsBefore;
        long versionBefore;
        byte[] keyBefore;
        using (var store = _temp.Open())
        {
            store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
            store.DefineApplication("web", "frontend", IPAddress.Parse("10.1.0.5"), "vm1", manifest);
            store.DefineApplication("web", "backend", null, "vm2", []);
            groupsBefore = [.. store.ListGroups()];
            appsBefore = [.. store.ListApplications()];
            domainsBefore = [.. store.ListDomains()];
            versionBefore = store.CurrentVersion();
            keyBefore = store.GetCredentials("web")[0].Key;
        }

        using var reopened = _temp.Open();

        Assert.Equal(3, versionBefore);
        Assert.Equal(versionBefore, reopened.CurrentVersion());
        Assert.Equal(groupsBefore, reopened.ListGroups());
        Assert.Equal(groupsBefore[0].Number, reopened.GetGroup("web")!.Number);
        var appsAfter = reopened.ListApplications();
        Assert.Equal(appsBefore.Count, appsAfter.Count);
        for (var i = 0; i < appsBefore.Count; i++)
        {
            Assert.Equal(appsBefore[i].Group, appsAfter[i].Group);
            Assert.Equal(appsBefore[i].Name, appsAfter[i].Name);
            Assert.Equal(appsBefore[i].Address, appsAfter[i].Address);
            Assert.Equal(appsBefore[i].Domain, appsAfter[i].Domain);
            Assert.Equal(appsBefore[i].Version, appsAfter[i].Version);
            Assert.Equal(appsBefore[i].Manifest, appsAfter[i].Manifest);
        }

        Assert.Equal(["backend", "frontend"], appsAfter.Select(a => a.Name));
        Assert.Equal(IPAddress.Parse("10.1.0.1"), reopened.GetApplication("web", "backend")!.Address);
        Assert.Equal(manifest, reopened.GetApplication("web", "frontend")!.Manifest);
        Assert.Equal(domainsBefore, reopened.ListDomains());
        Assert.Equal(keyBefore, reopened.GetCredentials("web")[0].Key);
    }

    [Fact]
    public void Open_FreshPath_CreatesFileAndSidecars0600InDirectory0700()
    {
        using var store = _temp.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_temp.DatabasePath));
        Assert.True(File.Exists(_temp.DatabasePath + "-wal"), "WAL file expected while the store is open");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_temp.DatabasePath + "-wal"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_temp.DatabasePath + "-shm"));
        Assert.Equal(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
            File.GetUnixFileMode(Path.GetDirectoryName(_temp.DatabasePath)!));
    }
}
