namespace OverlayKvm.Core.Store;

/// <summary>
/// Implemented by stores that serve reads from a local copy of a remote state (etcd's watch mirror): while the
/// remote cannot be reached, reads still answer but may miss changes made elsewhere. The API marks such answers.
/// </summary>
public interface IStoreFreshness
{
    /// <summary>Null while the copy is known current; otherwise why it may be stale (one line, for operators).</summary>
    string? StaleReason { get; }
}
