using System.Net;

namespace OverlayKvm.Core.Model;

/// <summary>A KVM host. <paramref name="Capacity"/> is the number of overlay domains it accepts (placement, R0.16).</summary>
public sealed record HostRecord(
    string Name,
    IPAddress Address,
    int Capacity,
    long Version);
