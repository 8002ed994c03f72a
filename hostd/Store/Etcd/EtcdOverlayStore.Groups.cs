using System.Net;
using OverlayKvm.Core.Credentials;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store.Etcd;

public sealed partial class EtcdOverlayStore
{
    /// <inheritdoc/>
    public ApplicationGroup DefineGroup(string name, IPNetwork addressSpace, ProtectionLevel protection, GroupCipher cipher = GroupCipher.ChaCha20Poly1305)
    {
        GroupStoreRules.CheckDefinition(name, addressSpace, protection, cipher);

        return Write(scope =>
        {
            if (scope.Model.Groups.ContainsKey(name))
            {
                throw GroupStoreRules.GroupExists(name);
            }

            AddressSpaceRules.CheckNoOverlap(name, addressSpace, [.. scope.Model.Groups.Values]);
            var group = new ApplicationGroup(name, addressSpace, protection, scope.Version) { Number = scope.TakeGroupNumber(), Cipher = cipher };
            scope.Put(group);
            scope.Put(new GroupCredential(name, 1, GroupKeyGenerator.NewKey(), scope.Now, null));
            return group;
        });
    }

    /// <inheritdoc/>
    public ApplicationGroup SetGroupProtection(string name, ProtectionLevel protection)
    {
        GroupStoreRules.CheckProtection(name, protection);
        return Write(scope =>
        {
            var group = RequireGroup(scope.Model, name);
            if (group.Protection == protection)
            {
                return group;
            }

            var changed = group with { Protection = protection, Version = scope.Version };
            scope.Put(changed);
            return changed;
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<ApplicationGroup> ListGroups() => [.. Model.Groups.Values];

    /// <inheritdoc/>
    public ApplicationGroup? GetGroup(string name) => Model.Groups.GetValueOrDefault(name);

    /// <inheritdoc/>
    public void UndefineGroup(string name)
    {
        Write(scope =>
        {
            RequireGroup(scope.Model, name);
            var apps = 0;
            foreach (var key in scope.Model.Applications.Keys)
            {
                apps += string.Equals(key.Group, name, StringComparison.Ordinal) ? 1 : 0;
            }

            if (apps > 0)
            {
                throw GroupStoreRules.GroupHasApps(name, apps);
            }

            ReleaseGroupReferences(scope, name);
            foreach (var credential in scope.Model.Credentials.Keys)
            {
                if (string.Equals(credential.Group, name, StringComparison.Ordinal))
                {
                    scope.Delete(scope.Keys.Credential(credential.Group, credential.Epoch));
                }
            }

            if (scope.Model.EngineDisabled.Contains(name))
            {
                scope.Delete(scope.Keys.EngineDisabled(name));
            }

            scope.Delete(scope.Keys.Group(name));
            return 0;
        });
    }

    private static ApplicationGroup RequireGroup(EtcdStoreModel model, string name) =>
        model.Groups.GetValueOrDefault(name) ?? throw new EntityNotFoundException("group", name);

}
