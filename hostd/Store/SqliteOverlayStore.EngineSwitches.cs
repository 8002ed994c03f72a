using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// engine-disable is an operator decision: kept in the store, not in the guest-writable region (issue 14 item 9).
/// A switch row per switched-off group (<c>engine-disabled/GROUP</c>, SqliteOverlayStore.Switches.cs); undefining
/// the group removes it.
/// </summary>
public sealed partial class SqliteOverlayStore
{
    private const string EngineDisabledPrefix = "engine-disabled/";

    /// <inheritdoc/>
    public IReadOnlyCollection<string> ListEngineDisabledGroups() => ListSwitchedOn(EngineDisabledPrefix, "groups");

    /// <inheritdoc/>
    public void SetEngineDisabled(string group, bool disabled)
    {
        NameRules.Check("group", group);
        Write(scope =>
        {
            _ = FindGroup(scope, group) ?? throw new EntityNotFoundException("group", group);
            return SetSwitch(scope, EngineDisabledPrefix + group, disabled);
        });
    }

    private static void ForgetEngineSwitch(WriteScope scope, string group) =>
        scope.Execute("DELETE FROM meta WHERE key = $k", ("$k", EngineDisabledPrefix + group));
}
