namespace OverlayKvm.Core.Store;

/// <summary>
/// The store cannot be reached (a distributed store lost quorum or every endpoint is down). Nothing was written.
/// The admin API answers 503 with this message and overlayctl exits 3; the write may simply be retried later.
/// </summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null)
    : Exception(message.StartsWith("store unavailable", StringComparison.Ordinal) ? message : $"store unavailable: {message}", inner);
