using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>A class fixture that runs a scenario once and records it, for tests that each assert on one part.</summary>
public interface IRecordedScenario
{
    /// <summary>Prints the scenario's narration to the test's output, then fails the test if the scenario failed.</summary>
    void ReportTo(ITestOutputHelper output);
}

/// <summary>
/// The tests of a recorded scenario (the VM tests: booting is too slow to do per test): every test starts by
/// reporting the fixture, so each one shows the narration and fails with the scenario's own failure.
/// </summary>
public abstract class RecordedScenarioTests<TFixture>
    where TFixture : IRecordedScenario
{
    protected RecordedScenarioTests(TFixture fixture, ITestOutputHelper output)
    {
        Fx = fixture;
        Output = output;
        fixture.ReportTo(output);
    }

    protected TFixture Fx { get; }

    protected ITestOutputHelper Output { get; }
}
