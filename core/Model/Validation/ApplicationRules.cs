using System.Net;

namespace OverlayKvm.Core.Model.Validation;

/// <summary>The checks of an app definition that need no stored state: the same in every store, before its transaction.</summary>
public static class ApplicationRules
{
    /// <summary>Checks the names and the manifest; returns the app's label (GROUP/APP) and the requested address in canonical form.</summary>
    public static (string Label, IPAddress? Requested) CheckDefinition(string group, string name, string domain, IPAddress? address,
        IReadOnlyList<DataObject> manifest)
    {
        NameRules.Check("group", group);
        NameRules.Check("app", name);
        NameRules.Check("domain", domain);
        var label = $"{group}/{name}";
        ManifestRules.Check(label, manifest);
        return (label, address is null ? null : AddressMath.Canonical(address));
    }
}
