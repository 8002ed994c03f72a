using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// The 32-bit sender index is derived from a domain's name and is the only per-VM input of its send keys and
/// nonces: two domains with one index would share keystream. Checked when a domain name first enters the store
/// (an application's domain, a domain record), so no document with a collision is ever built (issue 14 item 9).
/// </summary>
internal static class SenderIndexRule
{
    public static void Check(WriteScope scope, string domain)
    {
        uint index = OverlayIds.SenderIndex(domain);
        using var command = scope.Command("SELECT name FROM domains WHERE name <> $d UNION SELECT domain FROM applications WHERE domain <> $d");
        command.Parameters.AddWithValue("$d", domain);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            string other = reader.GetString(0);
            if (OverlayIds.SenderIndex(other) == index)
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
