using System.Diagnostics;
using NSec.Cryptography;
using OverlayKvm.Core.Crypto;

namespace OverlayKvm.Bench.Datapath;

/// <summary>
/// `aead-compare [SECONDS] [ROUNDS]`: the sealed path's AEAD candidates on this CPU, in one run, at the packet sizes
/// the path carries (64 and 1,400 bytes, 32 bytes of associated data as the frame header): today's direct OpenSSL
/// ChaCha20-Poly1305 (<see cref="ChaCha20Poly1305Context"/>), and libsodium's through NSec.Cryptography:
/// ChaCha20-Poly1305 and AEGIS-256. Each case seals (or opens) in place for SECONDS, rounds interleave the cases so
/// machine load hits them alike, and the median GB/s of the rounds is printed with the bytes allocated per call.
/// </summary>
internal static class AeadComparison
{
    private const int HeaderSize = 32;

    private delegate bool Operation(Span<byte> nonce, ReadOnlySpan<byte> header, Span<byte> message, int plaintextLength);

    public static int Run(string[] args)
    {
        double seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1.0;
        int rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
        var key = new byte[32];
        Random.Shared.NextBytes(key);

        using var sslSeal = new ChaCha20Poly1305Context(key, encrypt: true);
        using var sslOpen = new ChaCha20Poly1305Context(key, encrypt: false);
        var chacha = AeadAlgorithm.ChaCha20Poly1305;
        using var chachaKey = Key.Import(chacha, key, KeyBlobFormat.RawSymmetricKey);
        var cases = new List<(string Name, int NonceSize, int TagSize, Operation Seal, Operation Open)>
        {
            ("OpenSSL ChaCha20-Poly1305 (today)", 12, 16,
                (n, h, m, len) => sslSeal.Seal(n, h, m[..len], m.Slice(len, 16)),
                (n, h, m, len) => sslOpen.Open(n, h, m[..len], m.Slice(len, 16))),
            ("NSec ChaCha20-Poly1305", chacha.NonceSize, chacha.TagSize,
                (n, h, m, len) => { chacha.Encrypt(chachaKey, n, h, m[..len], m[..(len + chacha.TagSize)]); return true; },
                (n, h, m, len) => chacha.Decrypt(chachaKey, n, h, m[..(len + chacha.TagSize)], m[..len])),
        };
        // libsodium runs AEGIS-256 on AES-NI where the CPU has it, in software elsewhere (then slow, and this says so).
        var aegis = AeadAlgorithm.Aegis256;
        Key? aegisKey = Key.Import(aegis, key, KeyBlobFormat.RawSymmetricKey);
        cases.Add(($"NSec AEGIS-256 (tag {aegis.TagSize} B)", aegis.NonceSize, aegis.TagSize,
            (n, h, m, len) => { aegis.Encrypt(aegisKey, n, h, m[..len], m[..(len + aegis.TagSize)]); return true; },
            (n, h, m, len) => aegis.Decrypt(aegisKey, n, h, m[..(len + aegis.TagSize)], m[..len])));

        try
        {
            Console.WriteLine($"aead-compare: {seconds:0.##} s per case and round, {rounds} rounds, in place, {HeaderSize} B associated data, median GB/s of plaintext");
            Console.WriteLine($"{"size",6} {"implementation",-36} {"seal GB/s",10} {"open GB/s",10} {"alloc B/call",13}");
            foreach (int size in new[] { 64, 1400 })
            {
                var results = new List<double>[cases.Count * 2];
                for (int i = 0; i < results.Length; i++)
                {
                    results[i] = [];
                }
                long allocated = 0;
                for (int round = 0; round < rounds; round++)
                {
                    for (int c = 0; c < cases.Count; c++)
                    {
                        var (seal, open, bytes) = Measure(cases[c].NonceSize, cases[c].TagSize, cases[c].Seal, cases[c].Open, size, seconds);
                        results[2 * c].Add(seal);
                        results[2 * c + 1].Add(open);
                        allocated = Math.Max(allocated, bytes);
                    }
                }
                for (int c = 0; c < cases.Count; c++)
                {
                    Console.WriteLine($"{size,6} {cases[c].Name,-36} {Median(results[2 * c]),10:0.000} {Median(results[2 * c + 1]),10:0.000} {allocated,13}");
                }
            }
            return 0;
        }
        finally
        {
            aegisKey?.Dispose();
        }
    }

    /// <summary>Seal throughput, then open throughput of what was sealed (every open must verify), and the largest allocation per call.</summary>
    private static (double SealGbps, double OpenGbps, long AllocatedPerCall) Measure(int nonceSize, int tagSize, Operation seal, Operation open, int size, double seconds)
    {
        Span<byte> nonce = stackalloc byte[nonceSize];
        nonce.Clear();
        var header = new byte[HeaderSize];
        var message = new byte[size + tagSize];
        var sealedCopy = new byte[size + tagSize];
        Random.Shared.NextBytes(message);
        if (!seal(nonce, header, message, size))
        {
            throw new InvalidOperationException("seal failed");
        }
        message.CopyTo(sealedCopy, 0);

        long calls = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        long budget = (long)(seconds * Stopwatch.Frequency);
        while (clock.ElapsedTicks < budget)
        {
            for (int i = 0; i < 256; i++)
            {
                seal(nonce, header, message, size);
            }
            calls += 256;
        }
        double sealGbps = calls * (double)size / clock.Elapsed.TotalSeconds / 1e9;
        long sealAlloc = (GC.GetAllocatedBytesForCurrentThread() - before) / calls;

        calls = 0;
        before = GC.GetAllocatedBytesForCurrentThread();
        clock.Restart();
        while (clock.ElapsedTicks < budget)
        {
            for (int i = 0; i < 256; i++)
            {
                sealedCopy.CopyTo(message, 0);
                if (!open(nonce, header, message, size))
                {
                    throw new InvalidOperationException("open of a sealed message failed");
                }
            }
            calls += 256;
        }
        double openGbps = calls * (double)size / clock.Elapsed.TotalSeconds / 1e9;
        long openAlloc = (GC.GetAllocatedBytesForCurrentThread() - before) / calls;
        return (sealGbps, openGbps, Math.Max(sealAlloc, openAlloc));
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
