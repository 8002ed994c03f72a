using System.Net;
using System.Net.Sockets;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Model.Validation;

/// <summary>
/// Picks the lowest free app address of a group's space. Callers run it inside the write transaction that
/// inserts the app, so concurrent defines never receive the same address.
/// </summary>
public static class AddressAllocator
{
    /// <param name="taken">Addresses already used in any role (apps, VMs, hosts); any order, may hold addresses outside the space.</param>
    public static IPAddress LowestFree(string group, IPNetwork space, IEnumerable<IPAddress> taken)
    {
        var (first, last) = AddressMath.Bounds(space);
        var family = space.BaseAddress.AddressFamily;
        var lastUsable = family == AddressFamily.InterNetwork ? last - 1 : last;

        var used = new List<UInt128>();
        foreach (var address in taken)
        {
            var canonical = AddressMath.Canonical(address);
            if (canonical.AddressFamily == family && space.Contains(canonical))
            {
                used.Add(AddressMath.ToNumber(canonical));
            }
        }

        used.Sort();
        var candidate = first + 1;
        foreach (var value in used)
        {
            if (value < candidate)
            {
                continue;
            }

            if (value != candidate)
            {
                break;
            }

            candidate++;
        }

        if (candidate > lastUsable || candidate < first)
        {
            throw new ModelValidationException($"group {group}: address space", $"{space} has no free address left") { IsConflict = true };
        }

        return AddressMath.FromNumber(candidate, family);
    }
}
