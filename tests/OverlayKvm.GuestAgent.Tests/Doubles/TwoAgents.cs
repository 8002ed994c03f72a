using Microsoft.Extensions.Time.Testing;
using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.TestSupport;

namespace OverlayKvm.GuestAgent.Tests.Doubles;

/// <summary>
/// The datapath of two agents (vmA 192.0.2.1 with app "a" 10.1.0.1 and "a2" 10.1.0.3; vmB 192.0.2.2 with app
/// "b" 10.1.0.2) wired with doubles: frames vmA sends can be fed to vmB's receive path in the same test.
/// </summary>
internal sealed class TwoAgents
{
    public const string VmAAddress = "192.0.2.1";
    public const string VmBAddress = "192.0.2.2";
    public static readonly uint VmAUnderlay = 0xC0000201;
    public static readonly uint VmBUnderlay = 0xC0000202;

    public TwoAgents()
    {
        StateA = new AgentState();
        StateB = new AgentState();
        Publish(1);
        TransmissionA = new TransmissionManager(StateA, new TransmissionOptions(), CountersA, new SharedFrameSender(SenderA));
        TransmissionB = new TransmissionManager(StateB, new TransmissionOptions(), CountersB, new SharedFrameSender(SenderB));
        SendA = new SendPath(StateA, CountersA, SenderA, AdaptersA, TransmissionA);
        ReceiveB = new ReceivePath(StateB, CountersB, AdaptersB, Time, TransmissionB);
        AdaptersA.Set(OverlayIds.GroupId("web"), SinkA);
        AdaptersB.Set(OverlayIds.GroupId("web"), SinkB);
    }

    public FakeTimeProvider Time { get; } = TestClock.Create();

    /// <summary>web's protection level in both documents ("Sealed" or "Authenticated").</summary>
    public string Protection { get; set; } = "Sealed";

    /// <summary>Policies both documents carry (both VMs are members of web, so both are its authority).</summary>
    public List<OverlayKvm.Core.Policy.PolicyConfig> Policies { get; } = [];

    public List<(int Epoch, byte[] Key, DateTimeOffset? Retires)> Keys { get; } = [(1, RandomNumberGenerator.GetBytes(32), null)];

    public AgentState StateA { get; }

    public AgentState StateB { get; }

    public DatapathCounters CountersA { get; } = new();

    public DatapathCounters CountersB { get; } = new();

    public AdapterTable AdaptersA { get; } = new();

    public AdapterTable AdaptersB { get; } = new();

    public CapturingSink SinkA { get; } = new();

    public CapturingSink SinkB { get; } = new();

    public CapturingSender SenderA { get; } = new();

    public CapturingSender SenderB { get; } = new();

    public TransmissionManager TransmissionA { get; }

    public TransmissionManager TransmissionB { get; }

    public SendPath SendA { get; }

    public ReceivePath ReceiveB { get; }

    public uint GroupId { get; } = OverlayIds.GroupId("web");

    public void Publish(long version)
    {
        StateA.Publish(new SnapshotCompiler(CountersA, Time, 7480).Compile(Doc("vmA", version), StateA.Current));
        StateB.Publish(new SnapshotCompiler(CountersB, Time, 7480).Compile(Doc("vmB", version), StateB.Current));
    }

    /// <summary>The classifier the documents' routes come from (trusted segments for the clear path's tests).</summary>
    public OverlayKvm.Core.DirectoryService.PathClassifier Paths { get; set; } = OverlayKvm.Core.DirectoryService.PathClassifier.Standard;

    public DomainConfigDocument Doc(string self, long version)
    {
        var members = new List<MemberConfig>
        {
            new("a", "10.1.0.1", "vmA", VmAAddress, "h"),
            new("a2", "10.1.0.3", "vmA", VmAAddress, "h"),
            new("b", "10.1.0.2", "vmB", VmBAddress, "h"),
        };
        var apps = self == "vmA"
            ? new List<LocalAppConfig> { App("a", "10.1.0.1", 101), App("a2", "10.1.0.3", 103) }
            : new List<LocalAppConfig> { App("b", "10.1.0.2", 102) };
        var creds = Keys.Select(k => new CredentialConfig(k.Epoch, k.Key.ToArray(), k.Retires)).ToList();
        return MemberRouting.Apply(new DomainConfigDocument(DomainConfigDocument.CurrentFormat, self, version, "", self == "vmA" ? VmAAddress : VmBAddress, "h", apps,
            [new GroupConfig("web", "10.1.0.0/16", Protection, members, creds)]) { Policies = [.. Policies] }, Paths);
    }

    private static LocalAppConfig App(string name, string address, int table) =>
        new("web", name, address, table, [new RouteEntry("10.1.0.0/16", "adapter", 100)], []);

    /// <summary>Writes an IPv4/UDP packet (payload length n) at buffer[SealedFrameHeader.Size..]; returns its length.</summary>
    public static int WritePacket(byte[] buffer, string source, string destination, int payload = 100)
    {
        Span<byte> p = buffer.AsSpan(SealedFrameHeader.Size);
        int length = 28 + payload;
        p.Slice(0, length).Clear();
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.Slice(2), (ushort)length);
        p[8] = 64;
        p[9] = 17;
        IPAddress.Parse(source).TryWriteBytes(p.Slice(12), out _);
        IPAddress.Parse(destination).TryWriteBytes(p.Slice(16), out _);
        return length;
    }

    public static byte[] NewBuffer() => new byte[SealedFrameHeader.Size + 65535 + SealedFrameHeader.TagSize];
}
