using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// A TCP transfer between two app addresses, each socket opened inside its VM's namespace and bound to the app's
/// overlay address (so the app's source rule steers it). The data embeds a plaintext marker every 4 KiB so a
/// capture can prove it never appears on the wire. Returns the SHA-256 of what was sent and what arrived.
/// </summary>
internal static class TcpTransfer
{
    public static readonly byte[] Marker = "OVERLAYKVM-PLAINTEXT-MARKER-7c1e"u8.ToArray();

    public static byte[] MakeData(int size)
    {
        byte[] data = RandomNumberGenerator.GetBytes(size);
        for (int i = 0; i + Marker.Length <= size; i += 4096)
        {
            Marker.CopyTo(data, i);
        }
        return data;
    }

    public static async Task<(byte[] Sent, byte[] Received)> RunAsync(NetNamespace serverNs, string serverAddress, NetNamespace clientNs, string clientAddress,
        byte[] data, TimeSpan timeout, Func<long, Task>? onProgress = null)
    {
        using var listener = serverNs.OpenSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Parse(serverAddress), 0));
        listener.Listen(1);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        using var cts = new CancellationTokenSource(timeout);

        Task<byte[]> receive = Task.Run(async () =>
        {
            using Socket conn = await listener.AcceptAsync(cts.Token);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[65536];
            long total = 0;
            long nextReport = 1 << 20;
            while (true)
            {
                int n = await conn.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    break;
                }
                sha.AppendData(buffer, 0, n);
                total += n;
                if (onProgress is not null && total >= nextReport)
                {
                    nextReport += 1 << 20;
                    await onProgress(total);
                }
            }
            return sha.GetHashAndReset();
        });

        using (var client = clientNs.OpenSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            client.Bind(new IPEndPoint(IPAddress.Parse(clientAddress), 0));
            await client.ConnectAsync(new IPEndPoint(IPAddress.Parse(serverAddress), port), cts.Token);
            int sent = 0;
            while (sent < data.Length)
            {
                sent += await client.SendAsync(data.AsMemory(sent, Math.Min(65536, data.Length - sent)), SocketFlags.None, cts.Token);
            }
            client.Shutdown(SocketShutdown.Send);
            byte[] received = await receive;
            return (SHA256.HashData(data), received);
        }
    }
}
