using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Jobs;

/// <summary>
/// One pass of scheduled key rotation: every group whose newest live epoch is at least its interval old gets
/// a new epoch. A failure for one group is logged and the others still rotate; a group removed meanwhile is
/// skipped. Kept apart from the Quartz job so it can be run (and tested) with any clock.
/// </summary>
public sealed partial class CredentialRotationSweep(IOverlayStore store, TimeProvider time, IOptionsMonitor<JobsOptions> options, ILogger<CredentialRotationSweep> logger)
{
    /// <returns>The groups rotated, in name order.</returns>
    public IReadOnlyList<string> Run()
    {
        var settings = options.CurrentValue.CredentialRotation;
        var rotated = new List<string>();
        if (!settings.Enabled) return rotated;

        var now = time.GetUtcNow();
        foreach (var group in store.ListGroups())
        {
            var interval = settings.Groups.TryGetValue(group.Name, out var own) ? own : settings.DefaultInterval;
            if (interval <= TimeSpan.Zero) continue;
            try
            {
                var epochs = store.GetCredentials(group.Name);
                var newest = epochs.Count == 0 ? (DateTimeOffset?)null : epochs[^1].CreatedAt;
                if (newest is { } created && now - created < interval) continue;
                var credential = store.RotateCredentials(group.Name, settings.Grace);
                Log.Rotated(logger, group.Name, credential.Epoch, interval);
                rotated.Add(group.Name);
            }
            catch (EntityNotFoundException)
            {
                // Undefined between the listing and the rotation: nothing left to rotate.
            }
            catch (Exception e) when (e is ModelValidationException or InvalidOperationException or Microsoft.Data.Sqlite.SqliteException)
            {
                Log.Failed(logger, group.Name, e);
            }
        }

        return rotated;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Scheduled rotation: group {Group} now uses key epoch {Epoch} (interval {Interval})")]
        public static partial void Rotated(ILogger logger, string group, int epoch, TimeSpan interval);

        [LoggerMessage(2, LogLevel.Error, "Scheduled rotation of group {Group} failed; it is retried at the next check")]
        public static partial void Failed(ILogger logger, string group, Exception exception);
    }
}
