using Quartz;

namespace OverlayKvm.HostDaemon.Jobs;

/// <summary>The Quartz job around <see cref="CredentialRotationSweep"/>; never two passes at once.</summary>
[DisallowConcurrentExecution]
internal sealed class CredentialRotationJob(CredentialRotationSweep sweep) : IJob
{
    public static readonly JobKey Key = new("credential-rotation", "overlaykvm");

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        sweep.Run();
        return ValueTask.CompletedTask;
    }
}
