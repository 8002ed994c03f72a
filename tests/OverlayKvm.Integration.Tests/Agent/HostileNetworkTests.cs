using System.Security.Cryptography;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Agent;

/// <summary>
/// Show 4 (R0.7): an adversary between the VMs (a relay in its own namespace) flips bytes, replays frames, forges
/// frames with a member's key, and floods junk. Each is dropped and counted under its reason; TCP recovers and
/// the agent keeps serving.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class HostileNetworkTests
{
    private readonly ITestOutputHelper _output;

    public HostileNetworkTests(ITestOutputHelper output) => _output = output;

    private static async Task<TwoVmTopology> StartAsync()
    {
        var t = await TwoVmTopology.CreateAsync(viaRelay: true);
        try
        {
            t.StartClientAndServer();
            return t;
        }
        catch
        {
            await t.DisposeAsync();
            throw;
        }
    }

    private static Task<(byte[] Sent, byte[] Received)> TransferAsync(TwoVmTopology t, int bytes) =>
        TcpTransfer.RunAsync(t.B, TwoVmTopology.ServerAddress, t.A, TwoVmTopology.ClientAddress, TcpTransfer.MakeData(bytes), TimeSpan.FromSeconds(45));

    [Fact]
    public async Task ByteFlippedInFlight_DroppedAsAuth_AndTcpRecovers()
    {
        await using var t = await StartAsync();
        long flipped = 0;
        t.Relay!.TamperToB = (index, frame, length) =>
        {
            // Every 150th frame, one bit of the ciphertext: 6 bytes past the header (whose counter, salt and
            // sender fields are checked before the tag and counted under their own reasons).
            const int offset = OverlayKvm.Core.Wire.SealedFrameHeader.Size + 6;
            if (index % 150 == 75 && length > offset + OverlayKvm.Core.Wire.SealedFrameHeader.TagSize + 20)
            {
                frame[offset] ^= 0x40;
                Interlocked.Increment(ref flipped);
            }
        };
        long authBefore = AgentControl.Drop(t.AgentB.ControlSocket, "auth");
        var (sent, received) = await TransferAsync(t, 8 * 1024 * 1024);
        t.Relay.TamperToB = null;

        Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
        Assert.True(Interlocked.Read(ref flipped) > 10, $"the relay flipped only {flipped} frames");
        // The connection's last segments may still be in flight (and one of them flipped): let vmB catch up.
        await AgentControl.SettledPacketsInAsync(t.AgentB.ControlSocket, "web");
        long auth = AgentControl.Drop(t.AgentB.ControlSocket, "auth") - authBefore;
        _output.WriteLine($"flipped {flipped} frames, vmB counted {auth} auth drops");
        Assert.Equal(Interlocked.Read(ref flipped), auth);
    }

    [Fact]
    public async Task ReplayedAndForgedFrames_CountedAsReplayAndSpoof()
    {
        await using var t = await StartAsync();
        t.Relay!.Record = true;
        var (sent, received) = await TransferAsync(t, 1024 * 1024);
        t.Relay.Record = false;
        Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
        string b = t.AgentB.ControlSocket;
        // Let the connection's closing handshake finish so the only traffic from here on is what the relay injects.
        await AgentControl.SettledPacketsInAsync(b, "web");
        long replayBefore = AgentControl.Drop(b, "replay");
        long spoofBefore = AgentControl.Drop(b, "spoof");
        long inBefore = AgentControl.Counter(b, "web", "sealed", "packetsIn");

        // Replays: the last frames (still inside the window) and the first ones (long behind it).
        byte[][] recorded;
        lock (t.Relay.RecordedToB)
        {
            recorded = t.Relay.RecordedToB.ToArray();
        }
        Assert.True(recorded.Length > 100, $"only {recorded.Length} frames recorded");
        var replays = recorded[^5..].Concat(recorded[..5]).ToArray();
        foreach (byte[] frame in replays)
        {
            t.Relay.InjectToB(frame);
        }

        // Forgeries by a member holding the group key: inner source not an app of vmA; inner source an app of
        // vmB; and a valid frame of vmA sent from an address that is not vmA's.
        byte[] key = t.Docs.Keys[0].Key;
        t.Relay.InjectToB(FrameForge.Seal(key, "web", 1, "vmA", FrameForge.FreshCounter(), FrameForge.UdpPacket("10.1.0.77", TwoVmTopology.ServerAddress)));
        t.Relay.InjectToB(FrameForge.Seal(key, "web", 1, "vmA", FrameForge.FreshCounter(), FrameForge.UdpPacket(TwoVmTopology.ServerAddress, TwoVmTopology.ServerAddress)));
        t.Relay.InjectToBFromWrongAddress(FrameForge.Seal(key, "web", 1, "vmA", FrameForge.FreshCounter(), FrameForge.UdpPacket(TwoVmTopology.ClientAddress, TwoVmTopology.ServerAddress)));

        t.AgentB.WaitUntil(() => AgentControl.Drop(b, "replay") - replayBefore >= replays.Length && AgentControl.Drop(b, "spoof") - spoofBefore >= 3,
            TimeSpan.FromSeconds(10), "replay and spoof drops");
        await Task.Delay(200);
        Assert.Equal(replays.Length, AgentControl.Drop(b, "replay") - replayBefore);
        Assert.Equal(3, AgentControl.Drop(b, "spoof") - spoofBefore);
        Assert.Equal(inBefore, AgentControl.Counter(b, "web", "sealed", "packetsIn"));
    }

    [Fact]
    public async Task TenThousandRandomDatagrams_AllCountedMalformed_AgentStillServes()
    {
        await using var t = await StartAsync();
        string b = t.AgentB.ControlSocket;
        long before = AgentControl.Drop(b, "malformed");
        const int total = 10_000;
        var rng = new Random(20261125);
        for (int i = 0; i < total; i++)
        {
            var junk = new byte[rng.Next(1, 1473)];
            rng.NextBytes(junk);
            t.Relay!.InjectToB(junk);
            if (i % 250 == 249)
            {
                // Pace the flood so the receive queue never overflows: every datagram must reach the agent to be counted.
                int target = i + 1;
                t.AgentB.WaitUntil(() => AgentControl.Drop(b, "malformed") - before >= target, TimeSpan.FromSeconds(10), $"{target} malformed drops");
            }
        }
        t.AgentB.WaitUntil(() => AgentControl.Drop(b, "malformed") - before >= total, TimeSpan.FromSeconds(10), "all malformed drops");
        Assert.Equal(total, AgentControl.Drop(b, "malformed") - before);
        foreach (string reason in new[] { "auth", "replay", "spoof", "no-key" })
        {
            Assert.Equal(0, AgentControl.Drop(b, reason));
        }

        var (sent, received) = await TransferAsync(t, 2 * 1024 * 1024);
        Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
    }
}
