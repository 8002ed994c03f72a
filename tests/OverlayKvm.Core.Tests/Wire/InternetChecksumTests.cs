using System.Buffers.Binary;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.Core.Tests.Wire;

public class InternetChecksumTests
{
    /// <summary>
    /// The vector loop (16 bytes a step) and the word-by-word tail give the textbook RFC 1071 checksum (big-endian
    /// 16-bit words) for every length around the step boundaries and at a super-packet's size, from odd and even
    /// offsets, including all-0xFF data (the most carries).
    /// </summary>
    [Fact]
    public void Add_EqualsTheTextbookSum_ForEveryLengthAndOffset()
    {
        var random = new Random(16);
        byte[] data = new byte[65536 + 64];
        byte[] ours = new byte[2];
        int[] lengths = [.. Enumerable.Range(0, 200), 1399, 1400, 1432, 9000, 65535, 65536];
        foreach (bool ones in new[] { false, true })
        {
            if (ones)
            {
                data.AsSpan().Fill(0xFF);
            }
            else
            {
                random.NextBytes(data);
            }

            foreach (int length in lengths)
            {
                foreach (int offset in new[] { 0, 1, 2, 7 })
                {
                    ReadOnlySpan<byte> span = data.AsSpan(offset, length);
                    InternetChecksum.Store(ours, InternetChecksum.Finish(InternetChecksum.Add(0, span)));
                    Assert.True(BinaryPrimitives.ReadUInt16BigEndian(ours) == Textbook(span), $"length {length}, offset {offset}, all-ones {ones}");
                }
            }
        }
    }

    private static ushort Textbook(ReadOnlySpan<byte> data)
    {
        ulong sum = 0;
        for (int i = 0; i < data.Length; i += 2)
        {
            sum += (uint)(data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0u);
        }

        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}
