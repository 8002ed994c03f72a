using System.Diagnostics;
using System.Net;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.TestSupport.Agent;
using OverlayKvm.TestSupport.Doubles;
using OverlayKvm.TestSupport.Packets;

namespace OverlayKvm.Bench.Policy;

/// <summary>
/// `policy-cost [POLICIES]`: what the transmission manager costs, printed side by side (issue 7's Measure):
/// - the sender-side check with a cached rule, per packet, with no policy and with POLICIES (10,000) loaded;
/// - the same decision made uncached from the policy set (what the rule cache saves);
/// - the whole send path (check + seal) per packet, with the rule cached;
/// - one negotiation in process (Is Allowed sealed, opened, decided, Allowed sealed, opened, packet released):
///   its CPU cost; on a network add one round trip.
/// Two agents (vmA: app B of G2; vmB: app D of G3) with real documents, keys and frames; nothing leaves the process.
/// </summary>
internal static class PolicyCost
{
    private const string B = TwoGroupSnapshot.B;
    private const string D = TwoGroupSnapshot.D;

    public static int Run(string[] args)
    {
        int policies = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 10_000;
        Console.WriteLine($"transmission manager cost (cross-group flow B->D tcp/80, rule cached), {Environment.ProcessorCount} cpus");
        foreach (int loaded in new[] { 0, policies })
        {
            var pair = new Pair(loaded);
            pair.Negotiate();
            double check = NsPerOp(2_000_000, () => pair.CheckEgress(), out long allocCheck);
            double evaluate = NsPerOp(loaded > 0 ? 2_000 : 200_000, () => pair.EvaluateUncached(), out _);
            double send = NsPerOp(500_000, () => pair.SendOne(), out long allocSend);
            double negotiation = NsPerOp(loaded > 0 ? 200 : 2_000, () => pair.NegotiateFresh(), out _);
            Console.WriteLine($"  {pair.PolicyCount,6} policies: cached check {check,7:0.0} ns/packet ({allocCheck} B)   uncached decision {evaluate,9:0.0} ns   " +
                $"send path (check+seal 1400 B) {send,7:0.0} ns/packet ({allocSend} B)   negotiation in process {negotiation / 1000,7:0.0} µs");
        }
        return 0;
    }

    /// <summary>Median of five timed batches (after a warm-up batch); also the bytes allocated per operation.</summary>
    private static double NsPerOp(int count, Action op, out long allocatedPerOp)
    {
        var samples = new double[5];
        for (int i = 0; i < count / 10 + 1; i++)
        {
            op();
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int s = 0; s < samples.Length; s++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < count; i++)
            {
                op();
            }
            samples[s] = Stopwatch.GetElapsedTime(start).TotalNanoseconds / count;
        }
        allocatedPerOp = (GC.GetAllocatedBytesForCurrentThread() - before) / (5L * count);
        Array.Sort(samples);
        return samples[2];
    }

    private sealed class Pair
    {
        private readonly Side _a = new();
        private readonly Side _b = new();
        private readonly byte[] _buffer = new byte[SealedFrameHeader.Size + 65535 + SealedFrameHeader.TagSize];
        private readonly byte[] _packet;
        private readonly PolicyRuntime _policyB;
        private readonly uint _g2 = OverlayIds.GroupId("G2");
        private ushort _freshPort = 1024;

        public Pair(int extraPolicies)
        {
            var list = new List<AccessPolicy> { new(1, new PolicyDefinition("G3", [PolicySender.OfGroup("G2")], PolicyProtocol.Tcp, null, PolicyVerdict.Allow), 5) };
            // Policies that never match B: each names one other /32 sender (the realistic worst case: all scanned).
            for (int i = 0; i < extraPolicies; i++)
            {
                var cidr = new IPNetwork(new IPAddress([10, 200, (byte)(i >> 8), (byte)i]), 32);
                list.Add(new AccessPolicy(i + 2, new PolicyDefinition("G3", [PolicySender.OfCidr(cidr)], PolicyProtocol.Tcp, new PortRange(80, 80), PolicyVerdict.Deny), 5));
            }
            var snapshot = TwoGroupSnapshot.Build(10, list, DateTimeOffset.UtcNow);
            _a.Publish(DomainConfigBuilder.Build(snapshot, "vmA", includeSecrets: true));
            _b.Publish(DomainConfigBuilder.Build(snapshot, "vmB", includeSecrets: true));
            _policyB = _b.State.Current!.Policy;
            PolicyCount = _policyB.PolicyCount;
            _packet = new byte[1400];
            WriteTcp(_packet, 40000, 80);
        }

        public int PolicyCount { get; }

        /// <summary>The first packet of the flow: negotiated, then cached at both ends.</summary>
        public void Negotiate()
        {
            SendOne();
            Pump();
        }

        public void NegotiateFresh()
        {
            WriteTcp(_packet, 40000, _freshPort++ == 0 ? (ushort)1 : _freshPort);
            SendOne();
            Pump();
            WriteTcp(_packet, 40000, 80);
        }

        public Admission CheckEgress()
        {
            var snapshot = _a.State.Current!;
            return _a.Transmission.CheckEgress(snapshot, snapshot.Directory[0x0A030004], 0x0A020002, 0x0A030004, _packet);
        }

        public bool EvaluateUncached() => _policyB.TryDecide(0x0A020002, 0x0A030004, 6, 80, out _);

        public void SendOne()
        {
            _packet.CopyTo(_buffer.AsSpan(SealedFrameHeader.Size));
            _a.Send.Process(_g2, _buffer, _packet.Length);
        }

        private void Pump() => FramePump.Run(_a.Frames, _b.Receive, 0xC0000201, _b.Frames, _a.Receive, 0xC0000202);

        private static void WriteTcp(byte[] p, ushort sourcePort, ushort destinationPort)
        {
            TestPackets.WriteIpv4(p, p.Length, TestPackets.Tcp, B, D);
            TestPackets.WritePorts(p, sourcePort, destinationPort);
        }
    }

    /// <summary>One VM's datapath as AddGuestAgent builds it, with rule limits high enough for the bench's flows.</summary>
    private sealed class Side
    {
        private readonly DiscardingSink _sink = new();

        public Side()
        {
            Datapath = new AgentDatapath(Frames, TimeProvider.System,
                new TransmissionOptions { AllowTtl = TimeSpan.FromHours(1), MaxRules = 1 << 20, MaxRulesPerPeer = 1 << 20 });
            Adapters.Set(OverlayIds.GroupId("G2"), _sink);
            Adapters.Set(OverlayIds.GroupId("G3"), _sink);
        }

        public AgentDatapath Datapath { get; }

        public AgentState State => Datapath.State;

        public DatapathCounters Counters => Datapath.Counters;

        public AdapterTable Adapters => Datapath.Adapters;

        // Initialised before the constructor body: the datapath is built around it.
        public FrameQueue Frames { get; } = new((int)FrameType.Control);

        public TransmissionManager Transmission => Datapath.Transmission;

        public SendPath Send => Datapath.Send;

        public ReceivePath Receive => Datapath.Receive;

        public void Publish(DomainConfigDocument doc) => Datapath.Publish(doc);
    }
}
