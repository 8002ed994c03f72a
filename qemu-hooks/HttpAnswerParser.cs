using System.Buffers.Text;
using System.Text;

namespace OverlayKvm.QemuHook;

/// <summary>An HTTP/1.1 response: status, reason phrase and the whole body (de-chunked).</summary>
internal sealed record HttpAnswer(int Status, string Reason, byte[] Body);

/// <summary>
/// Parses overlayd's HTTP/1.1 answer from the bytes received so far. The hook sends one request with
/// "Connection: close" and needs only the status and body, so a small parser of the three ways a body can end
/// (Content-Length, chunked, close) replaces HttpClient, whose start-up (thread pool, connection pool, handlers)
/// was most of a member's hook latency.
/// </summary>
internal static class HttpAnswerParser
{
    private static ReadOnlySpan<byte> HeaderEnd => "\r\n\r\n"u8;
    private static ReadOnlySpan<byte> LineEnd => "\r\n"u8;

    /// <summary>The answer, or null while more bytes are needed.</summary>
    /// <param name="received">Everything received on the connection so far.</param>
    /// <param name="closed">The peer closed the connection: nothing more will come.</param>
    /// <exception cref="FormatException">Not an HTTP/1.x answer, or it ends before its body is complete.</exception>
    public static HttpAnswer? TryParse(ReadOnlySpan<byte> received, bool closed)
    {
        int headEnd = received.IndexOf(HeaderEnd);
        if (headEnd < 0)
        {
            return closed ? throw new FormatException($"the connection closed after {received.Length} bytes, inside the response head") : null;
        }
        ReadOnlySpan<byte> head = received[..headEnd];
        ReadOnlySpan<byte> rest = received[(headEnd + HeaderEnd.Length)..];

        int statusEnd = head.IndexOf(LineEnd);
        ReadOnlySpan<byte> statusLine = statusEnd < 0 ? head : head[..statusEnd];
        // "HTTP/1.1 200 OK": version, a three-digit status, an optional reason phrase.
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || statusLine[8] != (byte)' '
            || !Utf8Parser.TryParse(statusLine.Slice(9, 3), out int status, out int used) || used != 3)
        {
            throw new FormatException($"not an HTTP/1.x status line: '{Printable(statusLine)}'");
        }
        string reason = statusLine.Length > 13 ? Encoding.ASCII.GetString(statusLine[13..]) : "";

        long contentLength = -1;
        bool chunked = false;
        ReadOnlySpan<byte> headers = statusEnd < 0 ? [] : head[(statusEnd + LineEnd.Length)..];
        while (!headers.IsEmpty)
        {
            int end = headers.IndexOf(LineEnd);
            ReadOnlySpan<byte> line = end < 0 ? headers : headers[..end];
            headers = end < 0 ? [] : headers[(end + LineEnd.Length)..];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                continue;
            }
            ReadOnlySpan<byte> name = line[..colon].Trim((byte)' ');
            ReadOnlySpan<byte> value = line[(colon + 1)..].Trim((byte)' ');
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!Utf8Parser.TryParse(value, out contentLength, out int n) || n != value.Length || contentLength < 0)
                {
                    throw new FormatException($"bad Content-Length '{Printable(value)}'");
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                chunked = Ascii.EqualsIgnoreCase(value, "chunked"u8);
            }
        }

        if (chunked)
        {
            return Dechunk(rest, closed) is { } body ? new HttpAnswer(status, reason, body) : null;
        }
        if (contentLength >= 0)
        {
            if (rest.Length >= contentLength)
            {
                return new HttpAnswer(status, reason, rest[..(int)contentLength].ToArray());
            }
            return closed ? throw new FormatException($"the connection closed after {rest.Length} of {contentLength} body bytes") : null;
        }
        // Neither: the body ends when the connection does.
        return closed ? new HttpAnswer(status, reason, rest.ToArray()) : null;
    }

    /// <summary>The chunks joined, or null while the last (zero-size) chunk has not arrived.</summary>
    private static byte[]? Dechunk(ReadOnlySpan<byte> chunks, bool closed)
    {
        var body = new MemoryStream();
        while (true)
        {
            int sizeEnd = chunks.IndexOf(LineEnd);
            if (sizeEnd < 0)
            {
                return closed ? throw new FormatException("the connection closed inside a chunk header") : null;
            }
            // A chunk size is hex, optionally followed by ";extension".
            ReadOnlySpan<byte> sizeField = chunks[..sizeEnd];
            int semicolon = sizeField.IndexOf((byte)';');
            sizeField = (semicolon < 0 ? sizeField : sizeField[..semicolon]).Trim((byte)' ');
            if (!Utf8Parser.TryParse(sizeField, out uint size, out int used, 'X') || used != sizeField.Length || size > int.MaxValue / 2)
            {
                throw new FormatException($"bad chunk size '{Printable(sizeField)}'");
            }
            if (size == 0)
            {
                // Trailers (overlayd sends none) are not needed: the body is complete.
                return body.ToArray();
            }
            ReadOnlySpan<byte> data = chunks[(sizeEnd + LineEnd.Length)..];
            if (data.Length < size + LineEnd.Length)
            {
                return closed ? throw new FormatException("the connection closed inside a chunk") : null;
            }
            body.Write(data[..(int)size]);
            chunks = data[((int)size + LineEnd.Length)..];
        }
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        string s = Encoding.ASCII.GetString(bytes.Length <= 80 ? bytes : bytes[..80]);
        return string.Create(s.Length, s, static (dst, src) =>
        {
            for (int i = 0; i < src.Length; i++)
            {
                dst[i] = char.IsControl(src[i]) ? '?' : src[i];
            }
        });
    }
}
