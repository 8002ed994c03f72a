using OverlayKvm.Core.Credentials;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store.Etcd;

public sealed partial class EtcdOverlayStore
{
    /// <inheritdoc/>
    public IReadOnlyList<GroupCredential> GetCredentials(string group)
    {
        var model = Model;
        RequireGroup(model, group);
        return LiveCredentials(model, group, _time.GetUtcNow());
    }

    /// <inheritdoc/>
    /// <remarks>Also deletes epochs whose retirement has passed and stamps the group, as the SQLite store does.</remarks>
    public GroupCredential RotateCredentials(string group, TimeSpan grace)
    {
        CredentialRotation.CheckGrace(group, grace);
        return Write(scope =>
        {
            RequireGroup(scope.Model, group);
            var existing = new List<GroupCredential>();
            foreach (var (key, credential) in scope.Model.Credentials)
            {
                if (string.Equals(key.Group, group, StringComparison.Ordinal))
                {
                    existing.Add(credential);
                }
            }

            var plan = CredentialRotation.Rotate(group, existing, scope.Now, grace);
            foreach (var retirement in plan.Retirements)
            {
                var credential = scope.Model.Credentials[(group, retirement.Epoch)];
                scope.Put(credential with { RetiresAt = retirement.RetiresAt });
            }

            foreach (var credential in existing)
            {
                if (scope.Model.Credentials.TryGetValue((group, credential.Epoch), out var current) && current.RetiresAt <= scope.Now)
                {
                    scope.Delete(scope.Keys.Credential(group, credential.Epoch));
                }
            }

            scope.Put(plan.NewCredential);
            scope.StampGroup(group);
            return plan.NewCredential;
        });
    }

    private static List<GroupCredential> LiveCredentials(EtcdStoreModel model, string group, DateTimeOffset now)
    {
        var list = new List<GroupCredential>();
        foreach (var (key, credential) in model.Credentials)
        {
            if (string.Equals(key.Group, group, StringComparison.Ordinal) && (credential.RetiresAt is null || credential.RetiresAt > now))
            {
                list.Add(credential);
            }
        }

        return list;
    }
}
