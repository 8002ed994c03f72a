using OverlayKvm.GuestAgent.Engine;

namespace OverlayKvm.GuestAgent.Tests.Engine;

/// <summary>A region file the agent cannot use is an error it reports, never an exception that ends its engine loop.</summary>
public sealed class EngineRegionOpenerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("okvm-opener-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(4096)]
    public void RegionFileOfUnusableSize_IsRefusedWithAReason_NoException(int size)
    {
        File.WriteAllBytes(Path.Combine(_dir, "overlaykvm-web"), new byte[size]);

        var region = new EngineRegionOpener(_dir).TryOpen("web", "overlaykvm-web", out string? error);

        Assert.Null(region);
        Assert.NotNull(error);
        Assert.Contains("overlaykvm-web", error);
    }

    [Fact]
    public void MissingFile_And_NameLeavingTheDirectory_AreRefused()
    {
        var opener = new EngineRegionOpener(_dir);
        Assert.Null(opener.TryOpen("web", "overlaykvm-web", out string? missing));
        Assert.Contains("cannot map", missing);
        Assert.Null(opener.TryOpen("web", "../etc", out string? escape));
        Assert.Contains("not a file name", escape);
    }
}
