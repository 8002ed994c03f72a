namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// The one way the integration tiers wire namespaces together: veth pairs between two namespaces, bridges, and
/// namespaces plugged into a bridge — each link addressed and up. Namespaces stay owned by the caller (created with
/// <see cref="NetNamespace.Create"/> and disposed by it); every link created here lives inside them and goes with them.
/// </summary>
internal static class NetTopology
{
    /// <summary>A veth pair <paramref name="devA"/> (in a) ↔ <paramref name="devB"/> (in b), both ends addressed and up.</summary>
    public static void Veth(NetNamespace a, string devA, string addressA, NetNamespace b, string devB, string addressB, int prefix = 24)
    {
        a.Ip("link", "add", devA, "type", "veth", "peer", "name", devB, "netns", b.Name);
        a.Ip("addr", "add", $"{addressA}/{prefix}", "dev", devA);
        b.Ip("addr", "add", $"{addressB}/{prefix}", "dev", devB);
        a.Ip("link", "set", devA, "up");
        b.Ip("link", "set", devB, "up");
    }

    /// <summary>
    /// The two-VM underlay most scenarios run on: a veth "va" in a and "vb" in b, addressed .1 and .2 of
    /// <paramref name="subnet24"/> (e.g. "10.96.0"). Returns the two underlay addresses.
    /// </summary>
    public static (string A, string B) TwoVms(NetNamespace a, NetNamespace b, string subnet24)
    {
        string addressA = subnet24 + ".1", addressB = subnet24 + ".2";
        Veth(a, "va", addressA, b, "vb", addressB);
        return (addressA, addressB);
    }

    /// <summary>A bridge in <paramref name="ns"/>, up; with an address when it is the gateway of the namespaces behind it.</summary>
    public static void Bridge(NetNamespace ns, string bridge, string? address = null, int prefix = 24)
    {
        ns.Ip("link", "add", bridge, "type", "bridge");
        if (address is not null)
        {
            ns.Ip("addr", "add", $"{address}/{prefix}", "dev", bridge);
        }
        ns.Ip("link", "set", bridge, "up");
    }

    /// <summary>
    /// Plugs <paramref name="member"/> into <paramref name="bridge"/> of <paramref name="sw"/>: the veth's bridge end
    /// <paramref name="port"/> is enslaved and up; its other end <paramref name="memberDev"/> is addressed and up.
    /// </summary>
    public static void Attach(NetNamespace sw, string bridge, string port, NetNamespace member, string memberDev, string address, int prefix = 24)
    {
        sw.Ip("link", "add", port, "type", "veth", "peer", "name", memberDev, "netns", member.Name);
        sw.Ip("link", "set", port, "master", bridge);
        sw.Ip("link", "set", port, "up");
        member.Ip("addr", "add", $"{address}/{prefix}", "dev", memberDev);
        member.Ip("link", "set", memberDev, "up");
    }
}
