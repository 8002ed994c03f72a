using OverlayKvm.Core.SharedMemory;
using OverlayKvm.TestSupport;

namespace OverlayKvm.Core.Tests.SharedMemory;

/// <summary>
/// The per-slot doorbell (layout version 2): a receiver asleep on it is woken by a sender through a second mapping
/// of the region (as another process has it), a sender never issues a wake while the receiver is awake, and a
/// scribbled doorbell word cannot make either side hang. Cross-process: Integration.Tests Engine/DoorbellProcessTests.
/// </summary>
public sealed class EngineDoorbellTests
{
    [Fact]
    public void Layout_DoorbellsLieBetweenSlotTableAndRings_OneCacheLineEach()
    {
        Assert.Equal(2, EngineRegionHeader.LayoutVersion);
        Assert.True(EngineRegionLayout.TryCompute(16L << 20, 8, out EngineRegionLayout layout, out _));
        Assert.True(layout.DoorbellsOffset >= layout.SlotTableOffset + 8 * EngineRegionLayout.SlotSize);
        for (int slot = 0; slot < 8; slot++)
        {
            Assert.Equal(0, layout.DoorbellOffset(slot) % 64);
            Assert.True(layout.DoorbellOffset(slot) + EngineRegionLayout.DoorbellSize <= layout.RingsOffset);
        }
    }

    [Fact]
    public void Wait_NobodyRings_ReturnsTimedOut()
    {
        using var temp = new TempRegion();
        using var receiver = new EngineEndpoint(temp.Region, 1);

        DoorbellWaitResult result = receiver.WaitForData(TimeSpan.FromMilliseconds(20));

        Assert.Equal(DoorbellWaitResult.TimedOut, result);
        Assert.Equal(0u, receiver.Doorbell.Peek());
    }

    [Fact]
    public void Wait_NobodyRings_DoesNotCountAsAnUnwakeableRing()
    {
        using var temp = new TempRegion();
        using var receiver = new EngineEndpoint(temp.Region, 1);

        receiver.WaitForData(TimeSpan.FromMilliseconds(20));

        Assert.False(receiver.UnwakeableRingSeen);
    }

    [Fact]
    public async Task Wait_RungWithoutAWake_AsFromAnotherKernel_IsSeenAsAnUnwakeableRing()
    {
        // A VM's sender clears the word (its CAS reaches the shared page) but its FUTEX_WAKE cannot reach this kernel:
        // the receive thread must then not sleep long on this endpoint (EngineReceiveService's deep idle).
        using var temp = new TempRegion();
        using EngineRegion other = temp.AttachAgain();
        using var receiver = new EngineEndpoint(other, 1);
        using EngineDoorbell probe = temp.Region.OpenDoorbell(1);

        Task<DoorbellWaitResult> sleeper = Task.Factory.StartNew(() => receiver.WaitForData(TimeSpan.FromMilliseconds(500)), TaskCreationOptions.LongRunning);
        Poll.Until(() => probe.Peek() == EngineDoorbell.Sleeping, TimeSpan.FromSeconds(20), "the receiver to announce its sleep", interval: TimeSpan.FromMilliseconds(5));
        Thread.Sleep(100); // from announce to FUTEX_WAIT
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(temp.Bytes(temp.Region.Layout.DoorbellOffset(1), 4), 0);
        DoorbellWaitResult result = await sleeper.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(DoorbellWaitResult.TimedOut, result);
        Assert.True(receiver.UnwakeableRingSeen);
    }

    [Fact]
    public void Send_ReceiverAwake_IssuesNoWake()
    {
        using var temp = new TempRegion();
        using var sender = new EngineEndpoint(temp.Region, 0);

        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(EngineSendResult.Sent, sender.TrySend(1, new byte[64]));
        }

        Assert.Equal(0, sender.WakesSent);
    }

    [Fact]
    public void WaitForData_DataAlreadyPending_ReturnsWithoutSleeping()
    {
        using var temp = new TempRegion();
        using var sender = new EngineEndpoint(temp.Region, 0);
        using var receiver = new EngineEndpoint(temp.Region, 1);
        Assert.Equal(EngineSendResult.Sent, sender.TrySend(1, new byte[64]));

        Assert.Equal(DoorbellWaitResult.Woken, receiver.WaitForData(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, receiver.Doorbell.Waits);
    }

    [Fact]
    public async Task Send_ReceiverAsleepThroughAnotherMapping_WakesIt()
    {
        using var pair = new TwoMappedEndpoints();
        var (temp, sender, receiver) = (pair.Temp, pair.Sender, pair.Receiver);
        using EngineDoorbell probe = temp.Region.OpenDoorbell(1);

        Task<DoorbellWaitResult> sleeper = Task.Factory.StartNew(() => receiver.WaitForData(TimeSpan.FromSeconds(30)), TaskCreationOptions.LongRunning);
        Poll.Until(() => probe.Peek() == EngineDoorbell.Sleeping, TimeSpan.FromSeconds(20), "the receiver to announce its sleep", interval: TimeSpan.FromMilliseconds(5));
        Thread.Sleep(100); // from announce to FUTEX_WAIT

        Assert.Equal(EngineSendResult.Sent, sender.TrySend(1, new byte[64]));
        DoorbellWaitResult result = await sleeper.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(DoorbellWaitResult.Woken, result);
        Assert.Equal(1, sender.WakesSent);
        Assert.Equal(1, receiver.Doorbell.WokenWaits);
        Assert.Equal(RingReadResult.Message, receiver.TryReceive(new byte[4096], out int length, out int from));
        Assert.Equal((64, 0), (length, from));
    }

    [Fact]
    public async Task ScribbledDoorbell_NeitherSideHangs_AndEveryRecordArrives()
    {
        using var pair = new TwoMappedEndpoints();
        var (temp, sender, receiver) = (pair.Temp, pair.Sender, pair.Receiver);
        using var stop = new CancellationTokenSource();
        long scribbles = 0;
        Task scribbler = Task.Factory.StartNew(() =>
        {
            var random = new Random(5);
            Span<byte> word = temp.Bytes(temp.Region.Layout.DoorbellOffset(1), 4);
            while (!stop.IsCancellationRequested)
            {
                // Mostly garbage, sometimes "sleeping" (makes senders issue useless wakes), sometimes 0.
                uint value = (random.Next(3)) switch { 0 => EngineDoorbell.Sleeping, 1 => 0u, _ => (uint)random.Next() };
                BitConverter.TryWriteBytes(word, value);
                scribbles++;
                Thread.SpinWait(200);
            }
        }, TaskCreationOptions.LongRunning);

        const int Records = 2000;
        Task<int> receiving = Task.Factory.StartNew(() =>
        {
            byte[] buffer = new byte[4096];
            int received = 0;
            while (received < Records)
            {
                if (receiver.TryReceive(buffer, out _, out _) == RingReadResult.Message)
                {
                    received++;
                }
                else
                {
                    receiver.WaitForData(TimeSpan.FromMilliseconds(5));
                }
            }

            return received;
        }, TaskCreationOptions.LongRunning);

        try
        {
            for (int i = 0; i < Records; i++)
            {
                while (sender.TrySend(1, new byte[100]) != EngineSendResult.Sent)
                {
                    Thread.Yield();
                }

                if (i % 100 == 0)
                {
                    Thread.Sleep(2); // let the receiver drain and sleep while the word is being scribbled
                }
            }

            // A hang would show as this bound expiring (a hostile word may only cost bounded waits).
            Assert.Equal(Records, await receiving.WaitAsync(TimeSpan.FromSeconds(60)));
        }
        finally
        {
            stop.Cancel();
            await scribbler;
        }

        Assert.True(scribbles > 0);
        Assert.True(receiver.Doorbell.Waits > 0, "the receiver must have slept on the scribbled doorbell");
    }

    [Fact]
    public async Task WaitForRoom_FullRing_SenderSleepsUntilTheReceiverConsumesAndSignals()
    {
        using var pair = new TwoMappedEndpoints();
        var (temp, sender, receiver) = (pair.Temp, pair.Sender, pair.Receiver);
        using EngineDoorbell probe = temp.Region.OpenRoomDoorbell(0);
        byte[] packet = new byte[1400];
        int queued = 0;
        while (sender.TrySend(1, packet) == EngineSendResult.Sent)
        {
            queued++;
        }

        Task<EngineSendResult> waiting = Task.Factory.StartNew(() => sender.WaitForRoom(1, packet, TimeSpan.FromSeconds(30)), TaskCreationOptions.LongRunning);
        Poll.Until(() => probe.Peek() == EngineDoorbell.Sleeping, TimeSpan.FromSeconds(20), "the sender to announce it waits for room", interval: TimeSpan.FromMilliseconds(5));
        Thread.Sleep(100); // from announce to FUTEX_WAIT
        Assert.False(waiting.IsCompleted);

        Assert.Equal(RingReadResult.Message, receiver.TryReceive(new byte[4096], out _, out _));
        receiver.SignalRoom();
        EngineSendResult result = await waiting.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(EngineSendResult.Sent, result);
        Assert.True(queued > 10);
        Assert.Equal(1, sender.RoomDoorbell.WokenWaits);
        Assert.Equal(1, receiver.WakesSent);
    }

    [Fact]
    public void SignalRoom_NothingConsumed_RingsNobody()
    {
        using var temp = new TempRegion();
        using var receiver = new EngineEndpoint(temp.Region, 1);
        using EngineDoorbell room = temp.Region.OpenRoomDoorbell(0);
        room.Announce();

        receiver.SignalRoom();

        Assert.Equal(EngineDoorbell.Sleeping, room.Peek());
        Assert.Equal(0, receiver.WakesSent);
    }

    [Fact]
    public void Wait_WordChangedTwiceWithoutProgress_BecomesAPlainBoundedSleep()
    {
        using var temp = new TempRegion();
        using EngineDoorbell doorbell = temp.Region.OpenDoorbell(1);
        Span<byte> word = temp.Bytes(temp.Region.Layout.DoorbellOffset(1), 4);

        doorbell.Announce();
        BitConverter.TryWriteBytes(word, 0xBADu);
        Assert.Equal(DoorbellWaitResult.ValueChanged, doorbell.Wait(TimeSpan.FromMilliseconds(20)));
        doorbell.Announce();
        BitConverter.TryWriteBytes(word, 0xBADu);

        Assert.Equal(DoorbellWaitResult.Slept, doorbell.Wait(TimeSpan.FromMilliseconds(20)));
        Assert.True(doorbell.FutexUsable, "a scribbled word must not switch the futex off for good");
    }

    [Fact]
    public void Wait_WordChangedByALegitimateRace_ThenProgress_KeepsUsingTheFutex()
    {
        using var temp = new TempRegion();
        using EngineDoorbell doorbell = temp.Region.OpenDoorbell(1);
        Span<byte> word = temp.Bytes(temp.Region.Layout.DoorbellOffset(1), 4);

        doorbell.Announce();
        BitConverter.TryWriteBytes(word, 0u); // a sender's compare-exchange between our announce and FUTEX_WAIT
        Assert.Equal(DoorbellWaitResult.ValueChanged, doorbell.Wait(TimeSpan.FromMilliseconds(20)));
        doorbell.NoteDataFound();
        doorbell.Announce();

        Assert.Equal(DoorbellWaitResult.TimedOut, doorbell.Wait(TimeSpan.FromMilliseconds(20)));
    }
}
