using OverlayKvm.HostDaemon.Hosting;

return await OverlayDaemon.RunAsync(args);
