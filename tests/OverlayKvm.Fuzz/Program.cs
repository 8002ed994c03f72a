using OverlayKvm.Fuzz;
using SharpFuzz;

// OverlayKvm.Fuzz TARGET                 run TARGET under afl-fuzz (SharpFuzz's fork-server emulation, input on stdin)
// OverlayKvm.Fuzz TARGET --replay FILE…  run files through TARGET in-process and report each outcome (no afl-fuzz)
if (args.Length == 0 || !FuzzTargets.Names.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: OverlayKvm.Fuzz TARGET [--replay FILE...]; targets: {string.Join(", ", FuzzTargets.Names)}");
    return 2;
}
string name = args[0];

if (args.Length > 1 && args[1] == "--replay")
{
    using FuzzTarget replayed = FuzzTargets.Create(name)!;
    int failures = 0;
    foreach (string file in args.Skip(2))
    {
        try
        {
            replayed.Run(File.ReadAllBytes(file));
            Console.WriteLine($"{file}: ok");
        }
        catch (Exception ex)
        {
            failures++;
            Console.WriteLine($"{file}: {ex}");
        }
    }
    return failures == 0 ? 0 : 1;
}

// One process serves every input (SharpFuzz emulates the fork server) and an exception escaping Run is reported to
// afl-fuzz as a crash. The target is built inside the first input's run, not before: instrumented code may only run
// once Fuzzer.Run has attached the coverage map (before that the instrumentation writes through a null map).
// Under afl-fuzz each run reads the test case from afl-fuzz's file, not from SharpFuzz's copy of stdin, which can be
// empty for the first runs (AflTestCase says why).
FuzzTarget? target = null;
AflTestCase? testCase = Environment.GetEnvironmentVariable("__AFL_SHM_ID") is null ? null : AflTestCase.FromStdin();
try
{
    Fuzzer.Run(stream =>
    {
        target ??= FuzzTargets.Create(name)!;
        if (testCase is not null)
        {
            target.Run(testCase.Read());
            return;
        }
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        target.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    });
}
finally
{
    target?.Dispose();
}
return 0;
