using System.Net;

namespace OverlayKvm.Core.Model;

/// <summary>A process (or service) inside a VM that belongs to one group and owns one overlay address.</summary>
/// <param name="Name">Unique within its group.</param>
/// <param name="Domain">The libvirt domain (VM) the application runs in.</param>
/// <param name="Version">Store version at which this record last changed.</param>
public sealed record Application(
    string Group,
    string Name,
    IPAddress Address,
    string Domain,
    IReadOnlyList<DataObject> Manifest,
    long Version);
