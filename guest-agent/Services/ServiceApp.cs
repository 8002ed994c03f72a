namespace OverlayKvm.GuestAgent.Services;

/// <summary>An app declared as a systemd unit in apps.d (<c>app=NAME</c>, <c>unit=U.service</c>, optional <c>group=G</c>).</summary>
/// <param name="Source">The file that declared it, for messages.</param>
internal sealed record ServiceApp(string App, string? Group, string Unit, string Source);

/// <summary>What apps.d declared: the valid apps, and one message per bad line or file (FILE:LINE: reason).</summary>
internal sealed record AppsDirectoryContent(IReadOnlyList<ServiceApp> Apps, IReadOnlyList<string> Errors);
