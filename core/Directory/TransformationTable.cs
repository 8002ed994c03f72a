namespace OverlayKvm.Core.DirectoryService;

/// <summary>
/// Path class → ordered actions (seed 002 R2: "enumerating transformation actions according to known
/// pathways"). The standard table is the design's: local, engine, encapsulate on a trusted segment,
/// encapsulate then seal elsewhere. Immutable; the arrays it hands out are copies.
/// </summary>
public sealed class TransformationTable
{
    private readonly TransformAction[][] _actions;

    public TransformationTable(IReadOnlyDictionary<PathClass, TransformAction[]> actions)
    {
        _actions = new TransformAction[4][];
        foreach (var path in Enum.GetValues<PathClass>())
        {
            if (!actions.TryGetValue(path, out var list) || list.Length == 0)
            {
                throw new ArgumentException($"transformation table: path class {path} has no actions", nameof(actions));
            }

            _actions[(int)path] = [.. list];
        }
    }

    public static TransformationTable Standard { get; } = new(new Dictionary<PathClass, TransformAction[]>
    {
        [PathClass.SameVm] = [TransformAction.Local],
        [PathClass.SameHost] = [TransformAction.Engine],
        [PathClass.TrustedSegment] = [TransformAction.Encapsulate],
        [PathClass.Untrusted] = [TransformAction.Encapsulate, TransformAction.Seal],
    });

    /// <summary>
    /// The standard table with an integrity tag on trusted segments (<c>Directory:TrustedSegmentIntegrity</c>): the packet
    /// stays readable on the segment, but a frame altered or injected there fails the tag (seed 002 R12's lightweight path
    /// with the operator's choice of integrity).
    /// </summary>
    public static TransformationTable StandardWithTrustedIntegrity { get; } = new(new Dictionary<PathClass, TransformAction[]>
    {
        [PathClass.SameVm] = [TransformAction.Local],
        [PathClass.SameHost] = [TransformAction.Engine],
        [PathClass.TrustedSegment] = [TransformAction.Encapsulate, TransformAction.Authenticate],
        [PathClass.Untrusted] = [TransformAction.Encapsulate, TransformAction.Seal],
    });

    public IReadOnlyList<TransformAction> ActionsFor(PathClass path) => _actions[(int)path];
}
