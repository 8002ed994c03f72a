namespace OverlayKvm.Core.DirectoryService;

/// <summary>
/// The classifier's answer for one pair of apps (seed 002 R2, R12): the path class, the sender's ordered actions,
/// the actions to take when the engine refuses a same-host packet (destination not registered, engine off: seed
/// 000 R0.14; empty for other classes), and the deciding reason in words.
/// </summary>
public sealed record PathDecision(PathClass Path, IReadOnlyList<TransformAction> Actions, IReadOnlyList<TransformAction> Fallback, string Reason);
