using System.Net;
using OverlayKvm.Core.Policy;

namespace OverlayKvm.Core.Tests.Policy;

/// <summary>Small helpers to state policies the way an operator would.</summary>
internal static class PolicyTestWorld
{
    public static AccessPolicy Rule(long id, string destination, string protocol, string? ports, PolicyVerdict verdict, params string[] from)
    {
        var senders = from.Select((f, i) => PolicyText.ParseSender($"from[{i}]", f)).ToList();
        var definition = new PolicyDefinition(destination, senders, PolicyText.ParseProtocol("protocol", protocol), ports is null ? null : PortRange.Parse("ports", ports), verdict);
        PolicyRules.CheckDefinition(definition);
        return new AccessPolicy(id, definition, id);
    }

    public static PolicySet Set(IEnumerable<string> groups, IEnumerable<(string Child, string Parent)> parents, IEnumerable<AccessPolicy> policies, PolicyDefaults? defaults = null) =>
        PolicySet.Compile(groups, parents.Select(p => new GroupParent(p.Child, p.Parent, 1)).ToList(), policies.ToList(), defaults ?? PolicyDefaults.Standard);

    public static PolicyEndpoint At(this PolicySet set, string group, string app, string address) =>
        set.Endpoint(group, app, IPAddress.Parse(address));
}
