using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// What the group and application writes check and how they refuse, for both stores (like <see cref="PlacementRules"/>):
/// the arguments before a write starts, and the conflicts a store finds in its own rows.
/// </summary>
internal static class GroupStoreRules
{
    /// <summary>Validates a group definition's arguments (name, then space, then protection, then cipher: the first problem is the one reported).</summary>
    public static void CheckDefinition(string name, IPNetwork addressSpace, ProtectionLevel protection, GroupCipher cipher)
    {
        NameRules.Check("group", name);
        AddressSpaceRules.CheckSpace($"group {name}: address space", addressSpace);
        CheckLevel(name, protection);
        CipherRules.Check(name, cipher);
    }

    /// <summary>Validates a protection change's arguments.</summary>
    public static void CheckProtection(string name, ProtectionLevel protection)
    {
        NameRules.Check("group", name);
        CheckLevel(name, protection);
    }

    public static ModelValidationException GroupExists(string name) =>
        new($"group {name}", "is already defined") { IsConflict = true };

    public static ModelValidationException GroupHasApps(string name, long apps) =>
        new($"group {name}", $"still has {apps} application(s); undefine them first") { IsConflict = true };

    public static ModelValidationException AppExists(string label) =>
        new($"app {label}", "is already defined; undefine it first") { IsConflict = true };

    private static void CheckLevel(string name, ProtectionLevel protection)
    {
        if (!Enum.IsDefined(protection))
        {
            throw new ModelValidationException($"group {name}: protection", $"{(int)protection} is not a known protection level");
        }
    }
}
