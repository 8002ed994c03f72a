namespace OverlayKvm.HostDaemon.Channel;

/// <summary>
/// Strings a guest sends (error codes and messages, refusal reasons) are hostile: up to a channel message (1 MiB)
/// each. Only a bounded prefix ever reaches overlayd's log (issue 14 item 8).
/// </summary>
internal static class GuestText
{
    public const int MaxLoggedChars = 256;

    public static string Bounded(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "(none)";
        }
        return text.Length <= MaxLoggedChars ? text : string.Concat(text.AsSpan(0, MaxLoggedChars), $"… ({text.Length} chars)");
    }
}
