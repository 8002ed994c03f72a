using Microsoft.Win32.SafeHandles;

namespace OverlayKvm.Fuzz;

/// <summary>
/// The test case afl-fuzz wrote for the current execution, read from offset 0 of stdin (afl-fuzz's <c>.cur_input</c>
/// file) rather than from the stream SharpFuzz hands the action.
/// <para>
/// Why: SharpFuzz 2.3.0's <c>Fuzzer.Run</c> copies stdin for its set-up run and its first reported run as soon as it
/// has answered afl-fuzz's fork-server handshake. afl-fuzz writes the first seed only after reading that answer, so
/// on a loaded machine SharpFuzz often copies the still empty file: the first run afl-fuzz calibrates then executes an
/// empty input, which most targets ignore without touching instrumented code, and afl-fuzz aborts the dry run with
/// "No instrumentation detected". afl-fuzz always writes the whole test case (then truncates the file to it) before
/// it asks for a run, so reading the file from offset 0 when a run starts sees exactly that test case, whoever won
/// the race, and moves no file position that either side relies on.
/// </para>
/// </summary>
internal sealed class AflTestCase
{
    private readonly SafeFileHandle _stdin;
    private byte[] _buffer = new byte[64 * 1024];

    private AflTestCase(SafeFileHandle stdin) => _stdin = stdin;

    /// <summary>
    /// The reader when stdin is afl-fuzz's test-case file, or null when it is not a regular file (input through a pipe,
    /// or afl-fuzz started with -f/@@): then SharpFuzz's stream is the input.
    /// </summary>
    public static AflTestCase? FromStdin()
    {
        var stdin = new SafeFileHandle(0, ownsHandle: false);
        try
        {
            RandomAccess.GetLength(stdin);
            return new AflTestCase(stdin);
        }
        catch (NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>The whole current test case (valid until the next call).</summary>
    public ReadOnlySpan<byte> Read()
    {
        long length = RandomAccess.GetLength(_stdin);
        if (length > _buffer.Length)
        {
            _buffer = new byte[length];
        }
        int total = 0;
        while (total < length)
        {
            int read = RandomAccess.Read(_stdin, _buffer.AsSpan(total, (int)length - total), total);
            if (read == 0)
            {
                break;
            }
            total += read;
        }
        return _buffer.AsSpan(0, total);
    }
}
