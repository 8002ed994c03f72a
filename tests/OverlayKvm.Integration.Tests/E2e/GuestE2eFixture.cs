namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// Shared by the VM tests of one class: a usable libvirtd (started here only if it was not running, and then
/// stopped here) and the probe image (the guest image built without an agent, so init runs the probe).
/// </summary>
public sealed class GuestE2eFixture : IAsyncLifetime
{
    /// <summary>Where the probe image is built: the builder's cache, outside the repository.</summary>
    public static readonly string ProbeImageDir = Path.Combine(GuestImage.CacheRoot, "e2e-probe");

    private readonly List<string> _narration = new();
    private LibvirtDaemons? _daemons;
    private GuestImage? _probeImage;

    internal GuestImage ProbeImage => _probeImage ?? throw new InvalidOperationException("the fixture did not initialize");

    /// <summary>What the fixture did (daemon starts, the image build), for the tests to print.</summary>
    public IReadOnlyList<string> Narration => _narration;

    public async Task InitializeAsync()
    {
        _daemons = await LibvirtDaemons.EnsureAsync(_narration.Add);
        try
        {
            _probeImage = await GuestImage.BuildAsync(ProbeImageDir, agent: null, _narration.Add);
        }
        catch
        {
            // Do not leave daemons we started running if the fixture never becomes usable.
            await _daemons.DisposeAsync();
            _daemons = null;
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_daemons is not null) await _daemons.DisposeAsync();
    }
}
