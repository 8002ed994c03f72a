namespace OverlayKvm.HostDaemon.Channel;

/// <summary>A domain's agent could not answer (not connected, timed out, refused, sent an unacceptable reply); the API answers 503.</summary>
internal sealed class AgentUnavailableException(string message) : Exception(message);
