using OverlayKvm.Fuzz;
using SharpFuzz;

// OverlayKvm.Fuzz TARGET                 run TARGET under afl-fuzz (SharpFuzz's fork-server emulation, stdin/@@ input)
// OverlayKvm.Fuzz TARGET --replay FILE…  run files through TARGET in-process and report each outcome (no afl-fuzz)
if (args.Length == 0 || FuzzTargets.Create(args[0]) is not { } target)
{
    Console.Error.WriteLine($"usage: OverlayKvm.Fuzz TARGET [--replay FILE...]; targets: {string.Join(", ", FuzzTargets.Names)}");
    return 2;
}

using (target)
{
    if (args.Length > 1 && args[1] == "--replay")
    {
        int failures = 0;
        foreach (string file in args.Skip(2))
        {
            try
            {
                target.Run(File.ReadAllBytes(file));
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

    // One process serves every input (SharpFuzz emulates the fork server): the fixtures are built once above, and
    // an exception escaping Run is reported to afl-fuzz as a crash.
    Fuzzer.Run(stream =>
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        target.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    });
}
return 0;
