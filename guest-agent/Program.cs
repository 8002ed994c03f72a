using OverlayKvm.GuestAgent.Cli;

return await AgentCommandLine.RunAsync(args).ConfigureAwait(false);
