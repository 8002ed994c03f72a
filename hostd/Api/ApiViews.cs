using OverlayKvm.Core.Api;
using OverlayKvm.Core.Model;

namespace OverlayKvm.HostDaemon.Api;

/// <summary>Model records → API views. Keys never appear in a view.</summary>
internal static class ApiViews
{
    public static AppView ToView(this Application app)
    {
        var manifest = new List<DataObjectView>(app.Manifest.Count);
        foreach (var o in app.Manifest) manifest.Add(new DataObjectView(o.Name, o.Source, o.Sha256));
        return new AppView(app.Group, app.Name, app.Address.ToString(), app.Domain, app.Version, manifest);
    }

    public static DomainView ToView(this DomainRecord d) =>
        new(d.Name, d.Uuid?.ToString(), d.Host, d.Address?.ToString(), d.Version, d.Stopped, AddressSourceNames.Format(d.AddressSource));

    public static GroupView ToView(this ApplicationGroup g, int applications, IReadOnlyList<GroupCredential> credentials)
    {
        var epochs = new List<CredentialEpochView>(credentials.Count);
        foreach (var c in credentials) epochs.Add(new CredentialEpochView(c.Epoch, c.CreatedAt, c.RetiresAt));
        return new GroupView(g.Name, g.AddressSpace.ToString(), ProtectionNames.Format(g.Protection), g.Version, applications, epochs) { Cipher = GroupCiphers.Name(g.Cipher) };
    }
}

/// <summary>The address source's spelling on the API and the CLI.</summary>
internal static class AddressSourceNames
{
    public static string Format(DomainAddressSource source) => source == DomainAddressSource.Libvirt ? "libvirt" : "operator";
}

/// <summary>The protection level's spelling on the API and the CLI.</summary>
internal static class ProtectionNames
{
    public static string Format(ProtectionLevel level) => level switch
    {
        ProtectionLevel.Sealed => "sealed",
        ProtectionLevel.Authenticated => "authenticated",
        _ => level.ToString().ToLowerInvariant(),
    };

    public static ProtectionLevel Parse(string? text) => text?.ToLowerInvariant() switch
    {
        null or "" or "sealed" => ProtectionLevel.Sealed,
        "authenticated" => ProtectionLevel.Authenticated,
        _ => throw new ApiArgumentException($"protection: '{text}' is not one of sealed, authenticated"),
    };
}
