using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Store.Etcd;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// The 32-bit sender index is derived from a domain's name and is the only per-VM input of its send keys and
/// nonces: two domains with one index would share keystream. Checked when a domain name first enters the store
/// (an application's domain, a domain record), so no document with a collision is ever built (issue 14 item 9).
/// One rule for both stores: each only says which domain names it already holds.
/// </summary>
internal static class SenderIndexRule
{
    /// <summary>SQLite: the names come from the write transaction's view.</summary>
    public static void Check(WriteScope scope, string domain)
    {
        using var command = scope.Command("SELECT name FROM domains WHERE name <> $d UNION SELECT domain FROM applications WHERE domain <> $d");
        command.Parameters.AddWithValue("$d", domain);
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }
        Check(domain, names);
    }

    /// <summary>etcd: the names come from the model the write's Txn compares against.</summary>
    public static void Check(EtcdStoreModel model, string domain)
    {
        var names = new List<string>(model.Domains.Count + model.Applications.Count);
        foreach (var record in model.Domains.Values)
        {
            names.Add(record.Name);
        }
        foreach (var app in model.Applications.Values)
        {
            names.Add(app.Domain);
        }
        Check(domain, names);
    }

    private static void Check(string domain, IEnumerable<string> known)
    {
        uint index = OverlayIds.SenderIndex(domain);
        foreach (var other in known)
        {
            if (!string.Equals(other, domain, StringComparison.Ordinal) && OverlayIds.SenderIndex(other) == index)
            {
                throw new ModelValidationException($"domain {domain}: name",
                    $"its sender index {index:x8} is the one of domain {other} (both would seal with the same keys); give the domain another name")
                {
                    IsConflict = true,
                };
            }
        }
    }
}
