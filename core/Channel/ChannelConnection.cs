using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace OverlayKvm.Core.Channel;

/// <summary>
/// Framing of the host channel over any <see cref="Stream"/> (virtio-serial port, unix socket):
/// <c>length (uint32 BE, counts type + payload) ‖ type (1 byte) ‖ payload</c>.
/// Reads are bounded by <see cref="MaxMessageSize"/>: a larger length is a protocol violation that ends the
/// channel (there is no way to resynchronise safely). Writes are bounded by <see cref="MaxSendSize"/>, which may be
/// larger: the two directions are not symmetric (the host's documents are big, the guest's messages small).
/// Writes are serialised so several tasks may send.
/// This is control traffic, never the packet path: messages are small arrays.
/// </summary>
internal sealed class ChannelConnection : IAsyncDisposable
{
    private const int LengthSize = 4;
    private readonly Stream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly byte[] _lengthBuffer = new byte[LengthSize];

    public ChannelConnection(Stream stream, int maxMessageSize = ChannelProtocol.DefaultMaxMessageSize, int? maxSendSize = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageSize, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSendSize ?? maxMessageSize, 2);
        _stream = stream;
        MaxMessageSize = maxMessageSize;
        MaxSendSize = maxSendSize ?? maxMessageSize;
    }

    /// <summary>The largest message (type byte + payload) this end accepts.</summary>
    public int MaxMessageSize { get; }

    /// <summary>The largest message this end sends; a larger one is refused before a byte is written.</summary>
    public int MaxSendSize { get; }

    /// <summary>
    /// Reads messages until the peer closes the channel, handing each to <paramref name="handle"/> in order.
    /// Protocol violations (<see cref="ChannelProtocolException"/>) propagate: both ends treat them as fatal
    /// for the connection and count them.
    /// </summary>
    public async Task ReadAllAsync(Func<ChannelMessage, CancellationToken, Task> handle, CancellationToken cancellationToken)
    {
        while (await ReadAsync(cancellationToken).ConfigureAwait(false) is { } message)
        {
            await handle(message, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads the next message; null at a clean end of stream (between messages).</summary>
    public async ValueTask<ChannelMessage?> ReadAsync(CancellationToken cancellationToken)
    {
        int got = await ReadFullyAsync(_lengthBuffer, cancellationToken).ConfigureAwait(false);
        if (got == 0)
        {
            return null;
        }
        if (got < LengthSize)
        {
            throw new ChannelProtocolException($"host channel: stream ended inside a message length ({got} of {LengthSize} bytes)");
        }
        uint length = BinaryPrimitives.ReadUInt32BigEndian(_lengthBuffer);
        if (length < 1 || length > (uint)MaxMessageSize)
        {
            throw new ChannelProtocolException($"host channel: message length {length} outside 1..{MaxMessageSize}");
        }
        var body = new byte[length];
        got = await ReadFullyAsync(body, cancellationToken).ConfigureAwait(false);
        if (got < body.Length)
        {
            throw new ChannelProtocolException($"host channel: stream ended inside a message ({got} of {length} bytes)");
        }
        return new ChannelMessage((ChannelMessageType)body[0], body.AsMemory(1));
    }

    public async ValueTask WriteAsync(ChannelMessageType type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (payload.Length + 1 > MaxSendSize)
        {
            throw new ChannelProtocolException($"host channel: refusing to send a {type} message of {payload.Length + 1} bytes (limit {MaxSendSize})");
        }
        var frame = new byte[LengthSize + 1 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)(payload.Length + 1));
        frame[LengthSize] = (byte)type;
        payload.Span.CopyTo(frame.AsSpan(LengthSize + 1));
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public ValueTask WriteJsonAsync<T>(ChannelMessageType type, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken) =>
        WriteAsync(type, JsonSerializer.SerializeToUtf8Bytes(value, typeInfo), cancellationToken);

    public ValueTask SendErrorAsync(string code, string message, CancellationToken cancellationToken) =>
        WriteJsonAsync(ChannelMessageType.Error, new ErrorMessage(code, message), ChannelJsonContext.Default.ErrorMessage, cancellationToken);

    /// <summary>
    /// Parses a JSON payload. Returns null (and sets error) for malformed JSON, a JSON null, or trailing garbage,
    /// so hostile payloads become an error reply rather than an exception.
    /// </summary>
    public static T? TryParse<T>(ReadOnlyMemory<byte> payload, JsonTypeInfo<T> typeInfo, out string? error)
        where T : class
    {
        try
        {
            T? value = JsonSerializer.Deserialize(payload.Span, typeInfo);
            error = value is null ? $"{typeof(T).Name}: payload is JSON null" : null;
            return value;
        }
        catch (JsonException ex)
        {
            error = $"{typeof(T).Name}: {ex.Message}";
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        _writeLock.Dispose();
    }

    private async ValueTask<int> ReadFullyAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await _stream.ReadAsync(buffer.Slice(total), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }
}
