using System.Net;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.Bench.Datapath;

/// <summary>
/// The agent's per-packet work without the kernel: SendPath (lookup, anti-spoof, seal) on vmA and ReceivePath
/// (parse, peer/address check, replay window, open, inner checks) on vmB, with in-memory adapter and UDP
/// doubles. Shows the userspace cost per packet and that it allocates 0 B.
/// </summary>
[MemoryDiagnoser]
[SupportedOSPlatform("linux")]
public class DatapathBenchmark
{
    private readonly byte[] _buffer = GC.AllocateArray<byte>(SealedFrameHeader.Size + 65535 + SealedFrameHeader.TagSize, pinned: true);
    private readonly byte[] _template = new byte[2048];
    private readonly NullSink _sink = new();
    private readonly CopySender _sender = new();
    private SendPath _send = null!;
    private ReceivePath _receive = null!;
    private uint _groupId;
    private int _packetLength;

    [Params(64, 1400)]
    public int PacketSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        _groupId = OverlayIds.GroupId("web");
        var stateA = new AgentState();
        var stateB = new AgentState();
        var countersA = new DatapathCounters();
        var countersB = new DatapathCounters();
        stateA.Publish(new SnapshotCompiler(countersA, TimeProvider.System, 7480).Compile(Doc("vmA", key), null));
        stateB.Publish(new SnapshotCompiler(countersB, TimeProvider.System, 7480).Compile(Doc("vmB", key), null));
        var adaptersA = new AdapterTable();
        var adaptersB = new AdapterTable();
        adaptersA.Set(_groupId, _sink);
        adaptersB.Set(_groupId, _sink);
        // The transmission manager is part of the path: the first packet decides (within-group default) and records the rule.
        _send = new SendPath(stateA, countersA, _sender, adaptersA,
            new OverlayKvm.GuestAgent.Policy.TransmissionManager(stateA, new(), countersA, new OverlayKvm.GuestAgent.Policy.SharedFrameSender(_sender)));
        _receive = new ReceivePath(stateB, countersB, adaptersB, TimeProvider.System,
            new OverlayKvm.GuestAgent.Policy.TransmissionManager(stateB, new(), countersB, new OverlayKvm.GuestAgent.Policy.SharedFrameSender(_sender)));

        _packetLength = PacketSize;
        Span<byte> p = _template.AsSpan(SealedFrameHeader.Size, _packetLength);
        p[0] = 0x45;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.Slice(2), (ushort)_packetLength);
        p[9] = 17;
        IPAddress.Parse("10.1.0.1").TryWriteBytes(p.Slice(12), out _);
        IPAddress.Parse("10.1.0.2").TryWriteBytes(p.Slice(16), out _);
    }

    [Benchmark]
    public bool Send()
    {
        _template.AsSpan(0, SealedFrameHeader.Size + _packetLength).CopyTo(_buffer);
        return _send.Process(_groupId, _buffer, _packetLength) is null;
    }

    [Benchmark]
    public bool SendThenReceive()
    {
        _template.AsSpan(0, SealedFrameHeader.Size + _packetLength).CopyTo(_buffer);
        _send.Process(_groupId, _buffer, _packetLength);
        return _receive.Process(_sender.Frame.AsSpan(0, _sender.Length), 0xC0000201) is null;
    }

    private static DomainConfigDocument Doc(string self, byte[] key)
    {
        var members = new List<MemberConfig> { new("a", "10.1.0.1", "vmA", "192.0.2.1", "h"), new("b", "10.1.0.2", "vmB", "192.0.2.2", "h") };
        var app = self == "vmA" ? new LocalAppConfig("web", "a", "10.1.0.1", 101, [], []) : new LocalAppConfig("web", "b", "10.1.0.2", 102, [], []);
        return MemberRouting.Apply(new DomainConfigDocument(DomainConfigDocument.CurrentFormat, self, 1, "", self == "vmA" ? "192.0.2.1" : "192.0.2.2", "h", [app],
            [new GroupConfig("web", "10.1.0.0/16", "Sealed", members, [new CredentialConfig(1, key.ToArray(), null)])]),
            OverlayKvm.Core.DirectoryService.PathClassifier.Standard);
    }

    private sealed class NullSink : IPacketSink
    {
        public bool TryWrite(ReadOnlySpan<byte> packet) => true;
    }

    /// <summary>Keeps the frame so the receive benchmark opens what the send benchmark sealed.</summary>
    private sealed class CopySender : IFrameSender
    {
        public byte[] Frame { get; } = GC.AllocateArray<byte>(65536, pinned: true);

        public int Length { get; private set; }

        public bool TrySend(ReadOnlySpan<byte> frame, SocketAddress destination)
        {
            frame.CopyTo(Frame);
            Length = frame.Length;
            return true;
        }
    }
}
