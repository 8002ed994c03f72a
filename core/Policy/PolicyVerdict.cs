namespace OverlayKvm.Core.Policy;

/// <summary>What a policy (or a default) decides for a flow.</summary>
public enum PolicyVerdict : byte
{
    Deny = 0,
    Allow = 1,
}
