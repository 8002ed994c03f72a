using Microsoft.Extensions.Time.Testing;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.TestSupport;
using OverlayKvm.TestSupport.Agent;
using OverlayKvm.TestSupport.Packets;

namespace OverlayKvm.GuestAgent.Tests.Doubles;

/// <summary>
/// Seed 004's example with real documents from <see cref="DomainConfigBuilder"/>: vmA (192.0.2.1) runs app B
/// 10.2.0.2 of group G2; vmB (192.0.2.2) runs app D 10.3.0.4 of group G3; policies are given per test. Each
/// agent has its send and receive paths and transmission manager; <see cref="Pump"/> carries the frames each
/// sent to the other, until both are quiet.
/// </summary>
internal sealed class TwoGroups
{
    public const string B = TwoGroupSnapshot.B;
    public const string D = TwoGroupSnapshot.D;
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 0, 0, 0, TimeSpan.Zero);
    private long _version = 10;

    public TwoGroups(TransmissionOptions? options = null, params PolicyDefinition[] policies)
    {
        Options = options ?? new TransmissionOptions();
        A = new Side("vmA", Options, Time);
        Bv = new Side("vmB", Options, Time);
        Policies = [.. policies.Select((p, i) => new AccessPolicy(i + 1, p, 5))];
        Publish();
        A.Adapters.Set(OverlayIds.GroupId("G2"), A.Sink);
        Bv.Adapters.Set(OverlayIds.GroupId("G3"), Bv.Sink);
    }

    public TransmissionOptions Options { get; }

    /// <summary>Both VMs' clock: rule TTLs, negotiation timeouts and retries run on it, moved by the test.</summary>
    public FakeTimeProvider Time { get; } = TestClock.Create();

    public Side A { get; }

    /// <summary>vmB (named so it does not clash with app B).</summary>
    public Side Bv { get; }

    public List<AccessPolicy> Policies { get; }

    public static PolicyDefinition Accept(string destination, string fromGroup, int port) =>
        new(destination, [PolicySender.OfGroup(fromGroup)], PolicyProtocol.Tcp, new PortRange((ushort)port, (ushort)port), PolicyVerdict.Allow);

    public void Publish()
    {
        _version++;
        var snapshot = Snapshot();
        A.State.Publish(A.Compiler.Compile(DomainConfigBuilder.Build(snapshot, "vmA", includeSecrets: true), A.State.Current));
        Bv.State.Publish(Bv.Compiler.Compile(DomainConfigBuilder.Build(snapshot, "vmB", includeSecrets: true), Bv.State.Current));
    }

    /// <summary>Sends one TCP packet (B → D) through vmA's send path.</summary>
    public DropReason? SendBToD(int port, ushort sourcePort = 40000) => A.Send.Process(OverlayIds.GroupId("G2"), A.Buffer, WriteTcp(A.Buffer, B, D, sourcePort, (ushort)port));

    /// <summary>Carries frames both ways until neither agent has anything left to deliver; returns how many frames moved.</summary>
    public int Pump() => FramePump.Run(A.Frames, Bv.Receive, TwoAgents.VmAUnderlay, Bv.Frames, A.Receive, TwoAgents.VmBUnderlay);

    /// <summary>Writes an IPv4/TCP header (no payload beyond 20 bytes of zeros) at buffer[SealedFrameHeader.Size..].</summary>
    public static int WriteTcp(byte[] buffer, string source, string destination, ushort sourcePort, ushort destinationPort)
    {
        Span<byte> p = buffer.AsSpan(SealedFrameHeader.Size);
        const int length = 60;
        p.Slice(0, length).Clear();
        TestPackets.WriteIpv4(p, length, TestPackets.Tcp, source, destination);
        TestPackets.WritePorts(p, sourcePort, destinationPort);
        return length;
    }

    private StoreSnapshot Snapshot() => TwoGroupSnapshot.Build(_version, Policies, Now);

    /// <summary>One VM's datapath from AddGuestAgent, its frames queued for <see cref="Pump"/>.</summary>
    internal sealed class Side
    {
        public Side(string domain, TransmissionOptions options, FakeTimeProvider time)
        {
            Domain = domain;
            Datapath = new AgentDatapath(Frames, time, options);
        }

        public string Domain { get; }

        public AgentDatapath Datapath { get; }

        public AgentState State => Datapath.State;

        public DatapathCounters Counters => Datapath.Counters;

        public AdapterTable Adapters => Datapath.Adapters;

        public CapturingSink Sink { get; } = new();

        public FrameQueue Frames { get; } = new();

        public SnapshotCompiler Compiler => Datapath.Compiler;

        public TransmissionManager Transmission => Datapath.Transmission;

        public SendPath Send => Datapath.Send;

        public ReceivePath Receive => Datapath.Receive;

        public byte[] Buffer { get; } = TwoAgents.NewBuffer();
    }
}
