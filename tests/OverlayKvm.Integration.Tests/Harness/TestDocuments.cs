using System.Security.Cryptography;
using System.Net;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Model;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>An app of the test topology: group member placed on a VM.</summary>
internal sealed record TestApp(string Name, string Address, string Domain, int Table);

/// <summary>A VM of the test topology and the underlay address its peers use for it.</summary>
internal sealed record TestVm(string Domain, string Address);

/// <summary>Builds configuration documents by hand, the way overlayd's DomainConfigBuilder would (R0.2).</summary>
internal sealed class TestDocuments
{
    public const string Group = "web";
    public const string Cidr = "10.1.0.0/16";
    public const string Host = "host1";

    /// <summary>The classifier the documents' routes come from (set trusted segments here to test them).</summary>
    public PathClassifier Paths { get; set; } = PathClassifier.Standard;

    public List<TestApp> Apps { get; } = new();

    /// <summary>Key epochs: (epoch, key, retiresAt).</summary>
    public List<(int Epoch, byte[] Key, DateTimeOffset? RetiresAt)> Keys { get; } = new() { (1, RandomNumberGenerator.GetBytes(32), null) };

    /// <summary>The document for domain self; peers maps each other domain to the underlay address self uses for it.</summary>
    public DomainConfigDocument For(string self, string selfAddress, IReadOnlyDictionary<string, string> peerAddresses, long version)
    {
        var locals = new List<LocalAppConfig>();
        var members = new List<MemberConfig>();
        foreach (var app in Apps)
        {
            string? domainAddress = app.Domain == self ? selfAddress : peerAddresses.GetValueOrDefault(app.Domain);
            // Routes decided by the directory's classifier, as overlayd does: one host, so the engine, else sealed.
            members.Add(MemberRouting.Route(new MemberConfig(app.Name, app.Address, app.Domain, domainAddress, Host), Group, ProtectionLevel.Sealed,
                MemberRouting.From(self, Host, IPAddress.Parse(selfAddress), null, Group), Paths));
            if (app.Domain == self)
            {
                locals.Add(new LocalAppConfig(Group, app.Name, app.Address, app.Table,
                    [new RouteEntry(Cidr, "adapter", 100)], []));
            }
        }
        var creds = new List<CredentialConfig>();
        foreach (var (epoch, key, retires) in Keys)
        {
            creds.Add(new CredentialConfig(epoch, key.ToArray(), retires));
        }
        return new DomainConfigDocument(DomainConfigDocument.CurrentFormat, self, version, "", selfAddress, Host, locals,
            [new GroupConfig(Group, Cidr, "Sealed", members, creds)]);
    }
}
