using BenchmarkDotNet.Running;
using OverlayKvm.Bench.Api;

// Two kinds of benchmark live here:
// - process-level measurements that print figures (overlayd through its socket): `api-throughput`;
// - BenchmarkDotNet classes for in-process hot paths: everything else (`--filter '*Seal*'`, `--list flat`).
if (args is ["api-throughput", .. var rest])
    return await AppDefineThroughput.RunAsync(rest);

BenchmarkSwitcher.FromAssembly(typeof(AppDefineThroughput).Assembly).Run(args);
return 0;
