using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// QEMU's rules for a pre-created ivshmem backing file (the daemon will pre-create it to own the layout):
/// the wrong size or an owner QEMU cannot open makes 'virsh start' fail with a message naming the backing
/// store — never a guest that boots on a different region than the host writes.
/// </summary>
[Collection("libvirtd")]
public sealed class ShmBackingFileRuleTests : IClassFixture<GuestE2eFixture>
{
    private readonly GuestE2eFixture _fixture;
    private readonly ITestOutputHelper _output;

    public ShmBackingFileRuleTests(GuestE2eFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
        foreach (var line in fixture.Narration) output.WriteLine("[fixture] " + line);
    }

    [Theory]
    [InlineData("wrong-size", "does not match")]
    [InlineData("root-0644", "Permission denied")]
    public async Task Start_PrecreatedBackingFileBreaksARule_FailsNamingTheBackingStore(string breach, string expected)
    {
        const int shmemMiB = 4;
        await using var domain = await TestDomain.DefineAsync(new TestDomainSpec(_fixture.ProbeImage) { ShmemMiB = shmemMiB }, _output.WriteLine);
        var (qemuUid, qemuGid) = ShmBackingFile.LookUpUser(ShmBackingFile.QemuUser);
        if (breach == "wrong-size")
            ShmBackingFile.CreateAs(domain.ShmemName, 1024 * 1024, [], 0, qemuUid, qemuGid, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        else
            ShmBackingFile.CreateAs(domain.ShmemName, shmemMiB * 1024L * 1024, [], 0, 0, 0,
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => domain.StartAsync());
        _output.WriteLine(error.Message);
        Assert.Contains("backing store", error.Message);
        Assert.Contains(expected, error.Message);
        Assert.Equal("shut off", await domain.StateAsync());
    }
}
