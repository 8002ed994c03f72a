namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>Our metadata element in a domain is malformed. Names the domain and the field.</summary>
public sealed class OverlayMetadataException(string domain, string field, string problem)
    : Exception($"domain '{domain}': overlay metadata {field}: {problem}")
{
    public string Domain { get; } = domain;
    public string Field { get; } = field;
}
