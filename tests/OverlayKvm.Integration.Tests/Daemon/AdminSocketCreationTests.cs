namespace OverlayKvm.Integration.Tests.Daemon;

/// <summary>
/// Issue 14 item 10, seen from outside the process: overlayd's admin socket never exists with any mode but the
/// configured one. (Kestrel used to bind and listen with the umask's mode, 0755 under umask 022, and the mode
/// was set when the services had started.)
/// </summary>
public sealed class AdminSocketCreationTests
{
    [Fact]
    public async Task AdminSocket_AtItsFirstAppearance_HasTheConfiguredMode()
    {
        await using var daemon = new DaemonProcess();
        using var stop = new CancellationTokenSource();
        // Polls as fast as it can from before the process starts until the socket first shows up.
        Task<UnixFileMode?> firstSeen = Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    return (UnixFileMode?)File.GetUnixFileMode(daemon.Socket);
                }
                catch (FileNotFoundException)
                {
                    // not there yet
                }
            }
            return null;
        }, TaskCreationOptions.LongRunning);

        await daemon.StartAsync();
        await stop.CancelAsync();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, await firstSeen);
    }
}
