using System.Security.Cryptography;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// Issue 14 item 11: random bytes all over a live engine region — header, control words, slot table, rings — as a
/// hostile or broken guest (or a bad host process) could write them. Used by the namespace test and by the real-VM
/// fixture, where the same file is QEMU's ivshmem backing store, so the guests see every byte through their BAR.
/// </summary>
internal static class RegionScribbler
{
    /// <summary>Writes 64 random bytes every 5 ms for <paramref name="duration"/>; returns how many writes it made.</summary>
    public static async Task<int> ScribbleAsync(string regionPath, TimeSpan duration)
    {
        long length = new FileInfo(regionPath).Length;
        var until = DateTime.UtcNow + duration;
        int writes = 0;
        await using var f = new FileStream(regionPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        while (DateTime.UtcNow < until)
        {
            // Mostly the first 64 KiB (header, control, slot table), now and then anywhere (the rings).
            long limit = RandomNumberGenerator.GetInt32(4) == 0 ? length : Math.Min(length, 64 << 10);
            f.Position = RandomNumberGenerator.GetInt32((int)Math.Min(limit - 64, int.MaxValue));
            await f.WriteAsync(RandomNumberGenerator.GetBytes(64));
            await f.FlushAsync();
            writes++;
            await Task.Delay(5);
        }

        return writes;
    }
}
