using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>Reads an agent's counters through its control socket (the same JSON `overlay-agent stat --json` prints).</summary>
internal static class AgentControl
{
    public static JsonNode Request(string controlSocket, string json)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(controlSocket));
        using var stream = new NetworkStream(socket);
        stream.Write(Encoding.UTF8.GetBytes(json + "\n"));
        using var reader = new StreamReader(stream);
        string line = reader.ReadLine() ?? throw new IOException("agent closed the control socket without answering");
        return JsonNode.Parse(line) ?? throw new InvalidDataException("control answer is JSON null");
    }

    public static JsonNode Stat(string controlSocket)
    {
        JsonNode r = Request(controlSocket, "{\"op\":\"stat\"}");
        Assert.True(r["ok"]!.GetValue<bool>(), $"stat failed: {r["error"]}");
        return r["stat"]!;
    }

    public static long Drop(string controlSocket, string reason) => Stat(controlSocket)["drops"]![reason]!.GetValue<long>();

    /// <summary>A counter of group/path, e.g. ("web", "sealed", "packetsIn").</summary>
    public static long Counter(string controlSocket, string group, string path, string field)
    {
        foreach (JsonNode? g in Stat(controlSocket)["groups"]!.AsArray())
        {
            if (g!["group"]!.GetValue<string>() == group)
            {
                return g[path]![field]!.GetValue<long>();
            }
        }
        return 0;
    }
}
