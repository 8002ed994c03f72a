using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using OverlayKvm.Core.Wire;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Agent;

/// <summary>Show 5 (R0.4): a key rotation mid-transfer keeps the stream; the old epoch lives only through its grace period.</summary>
[Collection(AgentCollection.Name)]
public sealed class KeyRotationTests
{
    private readonly ITestOutputHelper _output;

    public KeyRotationTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task RotateDuringTransfer_StreamSurvives_FramesSwitchEpoch_OldEpochOnlyDuringGrace()
    {
        await using var t = await TwoVmTopology.CreateAsync(viaRelay: false);
        t.StartClientAndServer();
        using var capture = PacketCapture.Start(t.A, t.DeviceA, Path.Combine(t.Directory, "rotation.pcap"));
        var grace = TimeSpan.FromSeconds(8);
        DateTimeOffset? retiresAt = null;
        var rotated = Stopwatch.StartNew();

        byte[] data = TcpTransfer.MakeData(30 * 1024 * 1024);
        var (sent, received) = await TcpTransfer.RunAsync(t.B, TwoVmTopology.ServerAddress, t.A, TwoVmTopology.ClientAddress, data, TimeSpan.FromSeconds(50),
            async total =>
            {
                if (retiresAt is null && total >= 10 * 1024 * 1024)
                {
                    retiresAt = DateTimeOffset.UtcNow + grace;
                    var old = t.Docs.Keys[0];
                    t.Docs.Keys[0] = (old.Epoch, old.Key, retiresAt);
                    t.Docs.Keys.Add((2, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), null));
                    rotated.Restart();
                    await t.PushAsync();
                }
            });
        var frames = capture.Stop();
        Assert.NotNull(retiresAt);
        Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));

        // Epochs of vmA's frames in wire order: 1…1 then 2…2, never back.
        var epochs = frames.Where(f => f.Source == t.OwnAddressA && f.UdpPayload.Length >= SealedFrameHeader.Overhead)
            .Select(f => BinaryPrimitives.ReadUInt32BigEndian(f.UdpPayload.AsSpan(8))).ToList();
        int firstTwo = epochs.IndexOf(2u);
        _output.WriteLine($"{epochs.Count} frames from vmA: {epochs.Count(e => e == 1)} in epoch 1, {epochs.Count(e => e == 2)} in epoch 2");
        Assert.True(epochs[0] == 1 && firstTwo > 0, "frames did not start in epoch 1 and move to epoch 2");
        Assert.DoesNotContain(1u, epochs.Skip(firstTwo));

        // Grace: a valid epoch-1 frame from vmA still opens and is delivered…
        string b = t.AgentB.ControlSocket;
        using var fromA = t.A.OpenSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        fromA.Bind(new IPEndPoint(IPAddress.Parse(t.OwnAddressA), 0));
        var target = new IPEndPoint(IPAddress.Parse(t.OwnAddressB), TwoVmTopology.OverlayPort);
        byte[] oldKey = t.Docs.Keys[0].Key;
        long inBefore = await AgentControl.SettledPacketsInAsync(b, "web");
        long noKeyBefore = AgentControl.Drop(b, "no-key");
        fromA.SendTo(FrameForge.Seal(oldKey, "web", 1, "vmA", FrameForge.FreshCounter(), FrameForge.UdpPacket(TwoVmTopology.ClientAddress, TwoVmTopology.ServerAddress)), target);
        t.AgentB.WaitUntil(() => AgentControl.Counter(b, "web", "sealed", "packetsIn") > inBefore, TimeSpan.FromSeconds(5), "the epoch-1 frame inside the grace period");
        Assert.True(DateTimeOffset.UtcNow < retiresAt, "the machine was too slow: the grace period ended before the in-grace frame was checked");
        Assert.Equal(inBefore + 1, AgentControl.Counter(b, "web", "sealed", "packetsIn"));
        Assert.Equal(noKeyBefore, AgentControl.Drop(b, "no-key"));

        // …and after the grace period it is refused as no-key.
        TimeSpan wait = retiresAt!.Value - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(300);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
        long inAfterGrace = AgentControl.Counter(b, "web", "sealed", "packetsIn");
        fromA.SendTo(FrameForge.Seal(oldKey, "web", 1, "vmA", FrameForge.FreshCounter(), FrameForge.UdpPacket(TwoVmTopology.ClientAddress, TwoVmTopology.ServerAddress)), target);
        t.AgentB.WaitUntil(() => AgentControl.Drop(b, "no-key") > noKeyBefore, TimeSpan.FromSeconds(5), "the epoch-1 frame after the grace period to be refused");
        Assert.Equal(noKeyBefore + 1, AgentControl.Drop(b, "no-key"));
        Assert.Equal(inAfterGrace, AgentControl.Counter(b, "web", "sealed", "packetsIn"));
        Assert.Equal(2, AgentControl.Stat(t.AgentA.ControlSocket)["groups"]![0]!["sendEpoch"]!.GetValue<long>());
    }
}
