namespace OverlayKvm.GuestAgent.State;

/// <summary>
/// The application overlay entity (R0.5): one app of one group in this VM — its overlay address on the group's
/// adapter, its own routing table reached by a source rule, and the routes in it (R0.9). It exists while at least
/// one holder counts the app in (<see cref="Tun.AdapterManager"/>), is written to the kernel by
/// <see cref="Tun.ApplicationRouting"/>, and is persisted so a restarted agent can undo it without a document.
/// </summary>
internal sealed record ApplicationEntity(string Group, string App, string Address, int RouteTable, string Device);
