using System.Net;
using System.Net.Sockets;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;

namespace OverlayKvm.HostDaemon.DirectoryService;

/// <summary>
/// overlayd's answer to an agent's directory query (seed 002 R4–R5, docs/directory.md "Lookups on a miss"): looked up in
/// the domain's current configuration document, so a domain learns exactly what its document would tell it — members
/// of its groups and of the groups policy relates to them, with the classifier's route — and nothing else. "Not found"
/// is the same for an address nobody holds and for one of a group the domain may not know.
/// </summary>
internal static class DirectoryQueryAnswers
{
    /// <summary>How long an agent keeps an answer (positive or negative) before asking again.</summary>
    public const int TtlSeconds = 30;

    public static DirectoryAnswer Answer(DomainConfigDocument document, DirectoryQuery query)
    {
        if (IPAddress.TryParse(query.Address, out var address) && address.AddressFamily == AddressFamily.InterNetwork)
        {
            var text = address.ToString();
            foreach (var group in document.Groups)
            {
                foreach (var member in group.Members)
                {
                    if (member.Address == text)
                    {
                        return new DirectoryAnswer(query.Id, text, true, group.Name, member, document.Version, TtlSeconds);
                    }
                }
            }

            foreach (var neighbor in document.Neighbors)
            {
                foreach (var member in neighbor.Members)
                {
                    if (member.Address == text)
                    {
                        return new DirectoryAnswer(query.Id, text, true, neighbor.Name, member, document.Version, TtlSeconds);
                    }
                }
            }
        }

        return new DirectoryAnswer(query.Id, query.Address, false, null, null, document.Version, TtlSeconds);
    }
}
