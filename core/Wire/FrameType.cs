namespace OverlayKvm.Core.Wire;

/// <summary>Type byte of a sealed frame. Unknown types are dropped as malformed.</summary>
internal enum FrameType : byte
{
    /// <summary>The ciphertext is one inner IP packet.</summary>
    Data = 1,
}
