using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// Domains an operator pinned to their host (<c>domain-pin</c>, issue 15: rebalance never moves them): a switch
/// row <c>domain-pinned/NAME</c>, like the engine switches.
/// </summary>
public sealed partial class SqliteOverlayStore
{
    private const string DomainPinnedPrefix = "domain-pinned/";

    /// <inheritdoc/>
    public IReadOnlyCollection<string> ListPinnedDomains() => ListSwitchedOn(DomainPinnedPrefix, "domains");

    /// <inheritdoc/>
    public void SetDomainPinned(string domain, bool pinned)
    {
        NameRules.Check("domain", domain);
        Write(scope =>
        {
            _ = FindDomain(scope, domain) ?? throw new EntityNotFoundException("domain", domain);
            return SetSwitch(scope, DomainPinnedPrefix + domain, pinned);
        });
    }
}
