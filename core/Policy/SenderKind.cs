namespace OverlayKvm.Core.Policy;

/// <summary>What a sender term of a policy names.</summary>
public enum SenderKind : byte
{
    /// <summary>Every sender.</summary>
    Any = 0,
    /// <summary>Members of a group, sub-groups included (R4.2).</summary>
    Group = 1,
    /// <summary>One application of a group.</summary>
    App = 2,
    /// <summary>Senders whose overlay address lies in a range.</summary>
    Cidr = 3,
}
