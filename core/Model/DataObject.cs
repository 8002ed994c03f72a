namespace OverlayKvm.Core.Model;

/// <summary>One entry of an application's deployment manifest (R0.1): a data object the app needs in its VM.</summary>
/// <param name="Name">Path of the object inside the VM.</param>
/// <param name="Source">Where the deployment entity fetches it from (URI or host path).</param>
/// <param name="Sha256">Expected digest (lower-case hex), when known.</param>
public sealed record DataObject(string Name, string Source, string? Sha256);
