using OverlayKvm.Core.Model.Validation;

namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>
/// engine-disable is an operator decision kept in the store, on every host alike (issue 14 item 9): one key
/// <c>engine-disabled/GROUP</c> per switched-off group, written in the same version-guarded Txn as every change;
/// undefining the group removes it.
/// </summary>
public sealed partial class EtcdOverlayStore
{
    /// <inheritdoc/>
    public IReadOnlyCollection<string> ListEngineDisabledGroups() => [.. Model.EngineDisabled];

    /// <inheritdoc/>
    public void SetEngineDisabled(string group, bool disabled)
    {
        NameRules.Check("group", group);
        Write(scope =>
        {
            RequireGroup(scope.Model, group);
            if (scope.Model.EngineDisabled.Contains(group) == disabled)
            {
                return 0;
            }

            if (disabled)
            {
                scope.PutEngineDisabled(group);
            }
            else
            {
                scope.Delete(scope.Keys.EngineDisabled(group));
            }

            return 0;
        });
    }
}
