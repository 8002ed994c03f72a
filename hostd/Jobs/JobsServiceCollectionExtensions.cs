using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.HostDaemon.Jobs;
using Quartz;

// In the DI namespace (as AddSqliteOverlayStore) so overlayd's composition root needs no extra using.
namespace Microsoft.Extensions.DependencyInjection;

public static class JobsServiceCollectionExtensions
{
    /// <summary>
    /// Scheduled jobs on Quartz (in-memory scheduler, two worker threads, waits for running jobs on shutdown):
    /// credential rotation and directory reconciliation with libvirt, each when enabled. (The third housekeeping
    /// job of seed 004, rule expiry, runs where the rules live: in each agent.) <see cref="JobsOptions"/> ("Jobs") is validated here (the trigger interval
    /// is read here because Quartz fixes schedules at registration) and again on start.
    /// </summary>
    public static IServiceCollection AddOverlayJobs(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<JobsOptions>().Bind(configuration.GetSection(JobsOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JobsOptions>, JobsOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<CredentialRotationSweep>();
        services.TryAddSingleton<DirectoryReconciler>();

        var options = new JobsOptions();
        configuration.GetSection(JobsOptions.Section).Bind(options);

        // Refuse bad options here, as overlayd does for its own: one OptionsValidationException listing every
        // error (several failing sections at host start would surface as an AggregateException instead).
        var validation = new JobsOptionsValidator().Validate(null, options);
        if (validation.Failed) throw new OptionsValidationException(JobsOptions.Section, typeof(JobsOptions), validation.Failures);
        var rotation = options.CredentialRotation;
        // An out-of-range interval fails validation at start; the clamp only keeps Quartz from refusing first.
        var check = rotation.CheckInterval < JobsOptionsValidator.MinCheckInterval ? JobsOptionsValidator.MinCheckInterval : rotation.CheckInterval;
        var reconcile = options.DirectoryReconciliation;
        var reconcileEvery = reconcile.Interval < JobsOptionsValidator.MinCheckInterval ? JobsOptionsValidator.MinCheckInterval : reconcile.Interval;

        services.AddQuartz(q =>
        {
            q.UseDefaultThreadPool(2);
            if (rotation.Enabled)
            {
                q.AddJob<CredentialRotationJob>(j => j.WithIdentity(CredentialRotationJob.Key).WithDescription("rotate group keys whose interval has passed"));
                q.AddTrigger(t => t
                    .ForJob(CredentialRotationJob.Key)
                    .WithIdentity("credential-rotation-trigger", "overlaykvm")
                    .StartNow()
                    .WithSimpleSchedule(s => s.WithInterval(check).RepeatForever()));
            }

            if (reconcile.Enabled)
            {
                q.AddJob<DirectoryReconciliationJob>(j => j.WithIdentity(DirectoryReconciliationJob.Key).WithDescription("reconcile the directory with libvirt's domains"));
                q.AddTrigger(t => t
                    .ForJob(DirectoryReconciliationJob.Key)
                    .WithIdentity("directory-reconciliation-trigger", "overlaykvm")
                    .StartAt(DateTimeOffset.UtcNow + reconcileEvery)
                    .WithSimpleSchedule(s => s.WithInterval(reconcileEvery).RepeatForever()));
            }
        });
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        // Quartz narrates its start-up at Information (a dozen lines); overlayd's jobs log what they do themselves.
        services.Configure<LoggerFilterOptions>(o => o.AddFilter("Quartz", LogLevel.Warning));
        return services;
    }
}
