using System.Net;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Model;

namespace OverlayKvm.Core.Config;

/// <summary>
/// Puts the directory's decision for one member into its <see cref="MemberConfig"/> (path, actions, fallback): used by
/// <see cref="DomainConfigBuilder"/> and by anything else that writes documents (tests, benchmarks), so every document
/// carries routes from the one classifier.
/// </summary>
public static class MemberRouting
{
    /// <summary>The sending side of a route: this domain, as seen by one of its apps of <paramref name="group"/>.</summary>
    public static DirectoryEntry From(string domain, string host, IPAddress? domainAddress, IPAddress? hostAddress, string group) =>
        new(group, "", IPAddress.Any, domain, host, domainAddress, hostAddress);

    /// <summary>
    /// A document written by hand (tests, benchmarks) with every member's route filled in by <paramref name="paths"/>,
    /// seen from the document's domain; its format becomes the one its groups' ciphers need.
    /// </summary>
    public static DomainConfigDocument Apply(DomainConfigDocument document, PathClassifier paths)
    {
        var self = document.DomainAddress is { } text && IPAddress.TryParse(text, out var parsed) ? parsed : null;
        var groups = new List<GroupConfig>(document.Groups.Count);
        foreach (var group in document.Groups)
        {
            var from = From(document.Domain, document.Host, self, null, group.Name);
            groups.Add(group with { Members = RouteAll(group.Members, group.Name, group.Protection, from, paths) });
        }

        var neighbors = new List<NeighborGroupConfig>(document.Neighbors.Count);
        foreach (var neighbor in document.Neighbors)
        {
            var from = From(document.Domain, document.Host, self, null, neighbor.RelatedTo.Count > 0 ? neighbor.RelatedTo[0] : "");
            neighbors.Add(neighbor with { Members = RouteAll(neighbor.Members, neighbor.Name, neighbor.Protection, from, paths) });
        }

        return document with { FormatVersion = DomainConfigDocument.FormatFor(groups, neighbors), Groups = groups, Neighbors = neighbors };
    }

    private static List<MemberConfig> RouteAll(IReadOnlyList<MemberConfig> members, string group, string protection, DirectoryEntry from, PathClassifier paths)
    {
        var level = Enum.TryParse<ProtectionLevel>(protection, ignoreCase: true, out var parsed) ? parsed : ProtectionLevel.Sealed;
        var list = new List<MemberConfig>(members.Count);
        foreach (var member in members)
        {
            list.Add(Route(member, group, level, from, paths));
        }

        return list;
    }

    /// <summary><paramref name="member"/> of <paramref name="group"/> with the route from <paramref name="from"/> that <paramref name="paths"/> decides.</summary>
    public static MemberConfig Route(MemberConfig member, string group, ProtectionLevel protection, DirectoryEntry from, PathClassifier paths,
        IPAddress? memberHostAddress = null)
    {
        var address = IPAddress.TryParse(member.Address, out var parsed) ? parsed : IPAddress.Any;
        var domainAddress = member.DomainAddress is { } text && IPAddress.TryParse(text, out var vm) ? vm : null;
        var target = new DirectoryEntry(group, member.Name, address, member.Domain, member.Host, domainAddress, memberHostAddress);
        var decision = paths.Decide(from, target, protection);
        return member with
        {
            Path = PathClasses.Name(decision.Path),
            Actions = TransformActions.Names(decision.Actions),
            Fallback = TransformActions.Names(decision.Fallback),
        };
    }
}
