using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>
/// Domains an operator pinned to their host (issue 15: rebalance never moves them), on every host alike: one key
/// <c>domain-pinned/NAME</c> per pinned domain, written in the same version-guarded Txn as every change.
/// </summary>
public sealed partial class EtcdOverlayStore
{
    /// <inheritdoc/>
    public IReadOnlyCollection<string> ListPinnedDomains() => [.. Model.Pinned];

    /// <inheritdoc/>
    public void SetDomainPinned(string domain, bool pinned)
    {
        NameRules.Check("domain", domain);
        Write(scope =>
        {
            if (!scope.Model.Domains.ContainsKey(domain))
            {
                throw new EntityNotFoundException("domain", domain);
            }
            if (scope.Model.Pinned.Contains(domain) == pinned)
            {
                return 0;
            }

            if (pinned)
            {
                scope.PutDomainPinned(domain);
            }
            else
            {
                scope.Delete(scope.Keys.DomainPinned(domain));
            }

            return 0;
        });
    }
}
