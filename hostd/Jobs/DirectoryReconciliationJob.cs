using Quartz;

namespace OverlayKvm.HostDaemon.Jobs;

/// <summary>Quartz job: <see cref="DirectoryReconciler.Run"/> on the schedule of Jobs:DirectoryReconciliation.</summary>
[DisallowConcurrentExecution]
internal sealed class DirectoryReconciliationJob(DirectoryReconciler reconciler) : IJob
{
    public static readonly JobKey Key = new("directory-reconciliation", "overlaykvm");

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        reconciler.Run();
        return ValueTask.CompletedTask;
    }
}
