namespace OverlayKvm.Core.Policy;

/// <summary>
/// One end of a flow as the evaluator sees it: the index of its group in the compiled <see cref="PolicySet"/>,
/// its app name and its overlay address as a number (IPv4 in the low 32 bits). A struct so that evaluation
/// allocates nothing.
/// </summary>
public readonly record struct PolicyEndpoint(int Group, string App, UInt128 Address, bool IsIPv6);
