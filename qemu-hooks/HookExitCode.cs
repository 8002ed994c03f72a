namespace OverlayKvm.QemuHook;

/// <summary>Exit codes. libvirt treats any non-zero exit of `prepare` as a veto and shows our stderr.</summary>
internal static class HookExitCode
{
    /// <summary>Allowed (or not our domain).</summary>
    public const int Allow = 0;
    /// <summary>overlayd refused the operation; its reason is on stderr.</summary>
    public const int Refused = 1;
    /// <summary>overlayd could not be asked (down, timeout, bad answer) and the operation is `prepare` of our domain: fail closed.</summary>
    public const int OverlaydUnavailable = 2;
    /// <summary>Called with the wrong arguments or an oversized/unreadable stdin.</summary>
    public const int BadInvocation = 3;
}
