using Microsoft.Extensions.Time.Testing;
using System.Security.Cryptography;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.TestSupport;
using OverlayKvm.TestSupport.Agent;
using OverlayKvm.TestSupport.Packets;

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

    /// <param name="swapA">Doubles vmA's graph takes before AddGuestAgent (e.g. the engine a test attaches a region to).</param>
    /// <param name="configureA">vmA's agent options (state directory, control socket) for tests that use its adapters.</param>
    public TwoAgents(Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? swapA = null,
        Action<OverlayKvm.GuestAgent.Hosting.AgentOptions>? configureA = null)
    {
        A = new AgentDatapath(SenderA, Time, swap: swapA, configure: configureA);
        B = new AgentDatapath(SenderB, Time);
        Publish(1);
        AdaptersA.Set(OverlayIds.GroupId("web"), SinkA);
        AdaptersB.Set(OverlayIds.GroupId("web"), SinkB);
    }

    /// <summary>vmA's datapath from AddGuestAgent (what the shortcuts below name).</summary>
    public AgentDatapath A { get; }

    /// <summary>vmB's datapath from AddGuestAgent.</summary>
    public AgentDatapath B { get; }

    public FakeTimeProvider Time { get; } = TestClock.Create();

    /// <summary>web's protection level in both documents ("Sealed" or "Authenticated").</summary>
    public string Protection { get; set; } = "Sealed";

    /// <summary>web's cipher in both documents ("chacha20-poly1305" or "aegis-256", issue 16).</summary>
    public string Cipher { get; set; } = OverlayKvm.Core.Model.GroupCiphers.ChaCha20Poly1305Name;

    /// <summary>Policies both documents carry (both VMs are members of web, so both are its authority).</summary>
    public List<OverlayKvm.Core.Policy.PolicyConfig> Policies { get; } = [];

    public List<(int Epoch, byte[] Key, DateTimeOffset? Retires)> Keys { get; } = [(1, RandomNumberGenerator.GetBytes(32), null)];

    public AgentState StateA => A.State;

    public AgentState StateB => B.State;

    public DatapathCounters CountersA => A.Counters;

    public DatapathCounters CountersB => B.Counters;

    public AdapterTable AdaptersA => A.Adapters;

    public AdapterTable AdaptersB => B.Adapters;

    public CapturingSink SinkA { get; } = new();

    public CapturingSink SinkB { get; } = new();

    // Initialised before the constructor body: the datapaths are built around them.
    public CapturingSender SenderA { get; } = new();

    public CapturingSender SenderB { get; } = new();

    public TransmissionManager TransmissionA => A.Transmission;

    public TransmissionManager TransmissionB => B.Transmission;

    public SendPath SendA => A.Send;

    public ReceivePath ReceiveB => B.Receive;

    public uint GroupId { get; } = OverlayIds.GroupId("web");

    public void Publish(long version)
    {
        A.Publish(Doc("vmA", version));
        B.Publish(Doc("vmB", version));
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
            [new GroupConfig("web", "10.1.0.0/16", Protection, members, creds) { Cipher = Cipher }]) { Policies = [.. Policies] }, Paths);
    }

    private static LocalAppConfig App(string name, string address, int table) =>
        new("web", name, address, table, [new RouteEntry("10.1.0.0/16", "adapter", 100)], []);

    /// <summary>Writes an IPv4/UDP packet (payload length n) at buffer[SealedFrameHeader.Size..]; returns its length.</summary>
    public static int WritePacket(byte[] buffer, string source, string destination, int payload = 100)
    {
        Span<byte> p = buffer.AsSpan(SealedFrameHeader.Size);
        int length = 28 + payload;
        p.Slice(0, length).Clear();
        TestPackets.WriteIpv4(p, length, TestPackets.Udp, source, destination);
        return length;
    }

    /// <summary>
    /// Round trips of a 1200-byte packet 10.1.0.1 → 10.1.0.2 through vmA's send path and vmB's receive path (vmB gets a
    /// copy of the frame, as the wire would carry it): <paramref name="warmUp"/> first, then <paramref name="count"/>
    /// counted in four equal windows. Returns the bytes this thread allocated in the quietest window (the datapath's
    /// per-packet budget is 0). Why the minimum: an allocation per packet shows in every window, while the runtime's
    /// one-off work on this thread (a method reaching the next JIT tier under load) lands in one; a single window made
    /// the test fail about once in ten runs on a loaded host with 7 KB that no packet allocated.
    /// </summary>
    public long AllocatedByRoundTrips(int warmUp, int count)
    {
        const int Windows = 4;
        byte[] buffer = NewBuffer();
        byte[] frame = new byte[2048];
        byte[] template = NewBuffer();
        int n = WritePacket(template, "10.1.0.1", "10.1.0.2", 1200);
        for (int i = 0; i < warmUp; i++)
        {
            RoundTrip(template, buffer, frame, n);
        }
        long quietest = long.MaxValue;
        for (int w = 0; w < Windows; w++)
        {
            int round = w < Windows - 1 ? count / Windows : count - (Windows - 1) * (count / Windows);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < round; i++)
            {
                RoundTrip(template, buffer, frame, n);
            }
            quietest = Math.Min(quietest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return quietest;
    }

    private void RoundTrip(byte[] template, byte[] buffer, byte[] frame, int n)
    {
        template.AsSpan(0, SealedFrameHeader.Size + n).CopyTo(buffer);
        SendA.Process(GroupId, buffer, n);
        int length = SenderA.LastLength;
        buffer.AsSpan(0, length).CopyTo(frame); // what the wire would carry (the double keeps its own copy)
        ReceiveB.Process(frame.AsSpan(0, length), VmAUnderlay);
    }

    public static byte[] NewBuffer() => new byte[SealedFrameHeader.Size + 65535 + SealedFrameHeader.MaxTagSize];
}
