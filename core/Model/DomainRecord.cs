using System.Net;

namespace OverlayKvm.Core.Model;

/// <summary>A libvirt domain (VM) known to OverlayKvm.</summary>
/// <param name="Uuid">libvirt's UUID once the domain is defined; null while only declared.</param>
/// <param name="Host">The host the domain is placed on.</param>
/// <param name="Address">The VM's own (underlay) address: the outer address of sealed frames.</param>
/// <param name="Stopped">
/// Its host's libvirt reported it destroyed, shut down, crashed or undefined (issue 15): its apps stay in the store
/// but are unreachable (left out of peers' documents, marked so in the directory) until it starts again.
/// </param>
/// <param name="AddressSource">
/// Who gave <paramref name="Address"/>: the operator, or libvirt (issue 11). Only libvirt-learned addresses are
/// replaced when libvirt reports another one.
/// </param>
public sealed record DomainRecord(
    string Name,
    Guid? Uuid,
    string Host,
    IPAddress? Address,
    long Version,
    bool Stopped = false,
    DomainAddressSource AddressSource = DomainAddressSource.Operator);
