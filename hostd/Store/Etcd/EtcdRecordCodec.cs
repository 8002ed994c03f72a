using System.Net;
using System.Text.Json;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;

namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>Records ↔ the bytes etcd holds. Group keys go through the <see cref="SecretSealer"/>, never in clear.</summary>
internal sealed class EtcdRecordCodec(EtcdKeys keys, SecretSealer sealer)
{
    public EtcdKeys Keys { get; } = keys;

    public SecretSealer Sealer { get; } = sealer;

    public static byte[] Encode(MetaRecord meta) => JsonSerializer.SerializeToUtf8Bytes(meta, EtcdJsonContext.Default.MetaRecord);

    public static MetaRecord DecodeMeta(ReadOnlySpan<byte> value) => JsonSerializer.Deserialize(value, EtcdJsonContext.Default.MetaRecord)!;

    public static byte[] Encode(ApplicationGroup g) => JsonSerializer.SerializeToUtf8Bytes(
        new GroupRecordJson(g.Name, g.AddressSpace.ToString(), (int)g.Protection, g.Version, g.Number, (int)g.Cipher), EtcdJsonContext.Default.GroupRecordJson);

    public static ApplicationGroup DecodeGroup(ReadOnlySpan<byte> value)
    {
        var r = JsonSerializer.Deserialize(value, EtcdJsonContext.Default.GroupRecordJson)!;
        return new ApplicationGroup(r.Name, IPNetwork.Parse(r.AddressSpace), (ProtectionLevel)r.Protection, r.Version) { Number = r.Number, Cipher = (GroupCipher)r.Cipher };
    }

    public static byte[] Encode(Application a) => JsonSerializer.SerializeToUtf8Bytes(
        new ApplicationRecordJson(a.Group, a.Name, a.Address.ToString(), a.Domain, SqliteRows.WriteManifest(a.Manifest), a.Version),
        EtcdJsonContext.Default.ApplicationRecordJson);

    public static Application DecodeApplication(ReadOnlySpan<byte> value)
    {
        var r = JsonSerializer.Deserialize(value, EtcdJsonContext.Default.ApplicationRecordJson)!;
        return new Application(r.Group, r.Name, IPAddress.Parse(r.Address), r.Domain, SqliteRows.ReadManifest(r.Manifest), r.Version);
    }

    public static byte[] Encode(DomainRecord d) => JsonSerializer.SerializeToUtf8Bytes(
        new DomainRecordJson(d.Name, d.Uuid, d.Host, d.Address?.ToString(), d.Version, d.Stopped, d.AddressSource == DomainAddressSource.Libvirt), EtcdJsonContext.Default.DomainRecordJson);

    public static DomainRecord DecodeDomain(ReadOnlySpan<byte> value)
    {
        var r = JsonSerializer.Deserialize(value, EtcdJsonContext.Default.DomainRecordJson)!;
        return new DomainRecord(r.Name, r.Uuid, r.Host, r.Address is null ? null : IPAddress.Parse(r.Address), r.Version, r.Stopped,
            r.AddressFromLibvirt ? DomainAddressSource.Libvirt : DomainAddressSource.Operator);
    }

    public static byte[] Encode(HostRecord h) => JsonSerializer.SerializeToUtf8Bytes(
        new HostRecordJson(h.Name, h.Address.ToString(), h.Capacity, h.Version), EtcdJsonContext.Default.HostRecordJson);

    public static HostRecord DecodeHost(ReadOnlySpan<byte> value)
    {
        var r = JsonSerializer.Deserialize(value, EtcdJsonContext.Default.HostRecordJson)!;
        return new HostRecord(r.Name, IPAddress.Parse(r.Address), r.Capacity, r.Version);
    }

    public byte[] Encode(GroupCredential c)
    {
        var plain = JsonSerializer.SerializeToUtf8Bytes(
            new CredentialRecordJson(c.Group, c.Epoch, c.Key, c.CreatedAt.ToUnixTimeMilliseconds(), c.RetiresAt?.ToUnixTimeMilliseconds()),
            EtcdJsonContext.Default.CredentialRecordJson);
        try
        {
            return Sealer.Seal(Keys.Credential(c.Group, c.Epoch), plain);
        }
        finally
        {
            Array.Clear(plain);
        }
    }

    public GroupCredential DecodeCredential(string key, ReadOnlySpan<byte> value)
    {
        var plain = Sealer.Open(key, value);
        try
        {
            var r = JsonSerializer.Deserialize(plain, EtcdJsonContext.Default.CredentialRecordJson)!;
            return new GroupCredential(
                r.Group, r.Epoch, r.Key, DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedAt),
                r.RetiresAt is { } retires ? DateTimeOffset.FromUnixTimeMilliseconds(retires) : null);
        }
        finally
        {
            Array.Clear(plain);
        }
    }

    public static byte[] Encode(AccessPolicy p)
    {
        var d = p.Definition;
        return JsonSerializer.SerializeToUtf8Bytes(
            new PolicyRecordJson(p.Id, d.DestinationGroup, SqliteRows.WriteSenders(d.Senders), (int)d.Protocol, d.Ports?.First, d.Ports?.Last, (int)d.Verdict, p.Version),
            EtcdJsonContext.Default.PolicyRecordJson);
    }

    public static AccessPolicy DecodePolicy(ReadOnlySpan<byte> value)
    {
        var r = JsonSerializer.Deserialize(value, EtcdJsonContext.Default.PolicyRecordJson)!;
        var lines = r.Senders.Split('\n');
        var senders = new List<PolicySender>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            senders.Add(PolicyText.ParseSender($"policy {r.Id}: sender[{i}]", lines[i]));
        }

        PortRange? ports = r.PortFirst is { } first ? new PortRange((ushort)first, (ushort)r.PortLast!.Value) : null;
        return new AccessPolicy(r.Id, new PolicyDefinition(r.Destination, senders, (PolicyProtocol)r.Protocol, ports, (PolicyVerdict)r.Verdict), r.Version);
    }

    public static byte[] Encode(GroupParent p) => JsonSerializer.SerializeToUtf8Bytes(
        new ParentRecordJson(p.Group, p.Parent, p.Version), EtcdJsonContext.Default.ParentRecordJson);

    public static GroupParent DecodeParent(ReadOnlySpan<byte> value)
    {
        var r = JsonSerializer.Deserialize(value, EtcdJsonContext.Default.ParentRecordJson)!;
        return new GroupParent(r.Group, r.Parent, r.Version);
    }
}
