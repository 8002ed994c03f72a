using OverlayKvm.Core.Api;
using System.Security.Cryptography;
using OverlayKvm.Core.SharedMemory;
using OverlayKvm.HostDaemon.Engine;
using Xunit.Abstractions;
using static OverlayKvm.HostDaemon.Tests.Engine.EngineFixture;

namespace OverlayKvm.HostDaemon.Tests.Engine;

/// <summary>
/// The engine end to end below the agent: the daemon registers two VMs of a group and answers the query; each "VM"
/// maps the region file on its own (as QEMU maps it into a guest) and moves packets through an EngineEndpoint.
/// (The full path through TUN devices and agents is wired by the agent's datapath; see the report.)
/// </summary>
public sealed class EngineTransferTests(ITestOutputHelper output) : IDisposable
{
    private const int PacketSize = 1400;
    private readonly EngineFixture _f = new();

    [Fact]
    public void FiftyMegabytes_BetweenTwoRegisteredVms_ArriveWithTheSameSha256_AndTheCountersAccountForThem()
    {
        (EngineEndpoint sender, EngineEndpoint receiver, int to, EngineRegion[] regions) = Connect();
        using var _ = new Disposables(sender, receiver, regions[0], regions[1]);
        byte[] data = new byte[50 * 1000 * 1000];
        new Random(50).NextBytes(data);

        byte[] received = Transfer(sender, receiver, to, data, disableAfter: -1, out int packets);

        Assert.Equal(SHA256.HashData(data), received);
        EngineGroupStat web = _f.Registry.Snapshot().Groups.Single(g => g.Group == "web");
        EngineRingStat ring = web.Rings.Single(r => r.From == sender.MySlot && r.To == to);
        output.WriteLine($"ring {ring.From}->{ring.To}: {ring.RecordsWritten} records, {ring.BytesWritten} bytes written, {ring.BytesRead} read");
        Assert.Equal((ulong)data.Length, ring.BytesWritten);
        Assert.Equal((ulong)data.Length, ring.BytesRead);
        Assert.Equal((ulong)packets, ring.RecordsRead);
        Assert.Equal(0, sender.FaultCount + receiver.FaultCount);
    }

    [Fact]
    public void DisablingTheGroupMidTransfer_StopsNewPackets_DeliversThoseInFlight_AndEnablingResumes()
    {
        (EngineEndpoint sender, EngineEndpoint receiver, int to, EngineRegion[] regions) = Connect();
        using var _ = new Disposables(sender, receiver, regions[0], regions[1]);
        byte[] data = new byte[5 * 1000 * 1000];
        new Random(7).NextBytes(data);

        byte[] hashOfDelivered = Transfer(sender, receiver, to, data, disableAfter: 1000, out int sentBeforeDisable);

        Assert.Equal(1000, sentBeforeDisable);
        Assert.Equal(SHA256.HashData(data.AsSpan(0, 1000 * PacketSize)), hashOfDelivered);
        Assert.Equal(EngineSendResult.Disabled, sender.TrySend(to, data.AsSpan(0, PacketSize)));
        Assert.Equal(QueryOutcome.EngineDisabled, _f.Registry.Query("vm1", Ip("10.1.0.2")).Outcome);

        _f.Registry.SetEnabled("web", true);
        Assert.True(_f.Registry.Query("vm1", Ip("10.1.0.2")).Accessible);
        Assert.Equal(EngineSendResult.Sent, sender.TrySend(to, data.AsSpan(0, PacketSize)));
    }

    public void Dispose() => _f.Dispose();

    private (EngineEndpoint, EngineEndpoint, int, EngineRegion[]) Connect()
    {
        RegisterResult a = _f.Registry.Register("vm1", Ip("10.1.0.1"));
        RegisterResult b = _f.Registry.Register("vm2", Ip("10.1.0.2"));
        QueryResult route = _f.Registry.Query("vm1", Ip("10.1.0.2"));
        Assert.True(route.Accessible);
        EngineRegionGrant grant = Assert.Single(_f.Registry.GrantsFor("vm1"));
        EngineRegion vm1 = Attach(grant.Path);
        EngineRegion vm2 = Attach(grant.Path);
        return (new EngineEndpoint(vm1, a.Slot), new EngineEndpoint(vm2, b.Slot), route.Slot, [vm1, vm2]);
    }

    private static EngineRegion Attach(string path)
    {
        var mapping = SharedMemoryMapping.Open(path);
        Assert.Equal(RegionHeaderStatus.Valid, EngineRegion.TryAttach(mapping, out EngineRegion? region));
        return region!;
    }

    /// <summary>Sends <paramref name="data"/> in packets from a thread; returns the SHA-256 of what arrived.</summary>
    private byte[] Transfer(EngineEndpoint sender, EngineEndpoint receiver, int to, byte[] data, int disableAfter, out int sentPackets)
    {
        int sent = 0;
        Exception? failure = null;
        var producer = new Thread(() =>
        {
            try
            {
                for (int offset = 0; offset < data.Length; offset += PacketSize)
                {
                    if (sent == disableAfter)
                    {
                        _f.Registry.SetEnabled("web", false);
                    }

                    ReadOnlySpan<byte> packet = data.AsSpan(offset, Math.Min(PacketSize, data.Length - offset));
                    EngineSendResult result;
                    var backoff = new AdaptiveBackoff();
                    while ((result = sender.TrySend(to, packet)) == EngineSendResult.Full)
                    {
                        backoff.Idle();
                    }

                    if (result == EngineSendResult.Disabled)
                    {
                        return; // the agent would now seal this packet and send it over the network path
                    }

                    Assert.Equal(EngineSendResult.Sent, result);
                    sent++;
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        producer.Start();

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[receiver.MaxPacket];
        int received = 0;
        var idle = new AdaptiveBackoff();
        DateTime deadline = DateTime.UtcNow.AddSeconds(50);
        while (DateTime.UtcNow < deadline)
        {
            RingReadResult result = receiver.TryReceive(buffer, out int length, out int from);
            if (result == RingReadResult.Message)
            {
                Assert.Equal(sender.MySlot, from);
                hash.AppendData(buffer, 0, length);
                received++;
                idle.Reset();
                continue;
            }

            Assert.Equal(RingReadResult.Empty, result);
            if (!producer.IsAlive && received == Volatile.Read(ref sent))
            {
                break;
            }

            idle.Idle();
        }

        producer.Join();
        Assert.Null(failure);
        Assert.Equal(sent, received);
        sentPackets = sent;
        return hash.GetHashAndReset();
    }

    private sealed class Disposables(params IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (IDisposable item in items)
            {
                item.Dispose();
            }
        }
    }
}
