namespace OverlayKvm.Core.Model;

/// <summary>How traffic of a group is protected when it leaves a host (R0.4: changing it touches only overlay configuration).</summary>
public enum ProtectionLevel
{
    /// <summary>AEAD: confidentiality and integrity (the default).</summary>
    Sealed = 0,
    /// <summary>Integrity only: the payload travels in clear with an authentication tag.</summary>
    Authenticated = 1,
}
