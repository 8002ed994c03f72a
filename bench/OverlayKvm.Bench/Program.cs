using BenchmarkDotNet.Running;
using OverlayKvm.Bench.Api;

// Two kinds of benchmark live here:
// - process-level measurements that print figures: `api-throughput` (overlayd through its socket),
//   `throughput` (iperf3/ping through veth, wireguard-go and the overlay between two namespaces),
//   `engine-path` (engine vs sealed vs veth through two agents and a real overlayd: bench/run.sh path),
//   `policy-cost` (the transmission manager per packet and per negotiation, in process),
//   `aead-compare` (OpenSSL vs libsodium/NSec ChaCha20-Poly1305 and AEGIS-256, in process),
//   `document-recompute` (documents rebuilt and pushed per change at 10,000 apps on 3 hosts, in process),
//   `change-propagation` (app-define on host A -> document applied on host B, over a 3-member etcd);
// - BenchmarkDotNet classes for in-process hot paths: everything else (`--filter '*Seal*'`, `--list flat`).
if (args is ["api-throughput", .. var rest])
    return await AppDefineThroughput.RunAsync(rest);
if (args is ["engine-path", .. var pathArgs])
    return OverlayKvm.Bench.EnginePath.EnginePathComparison.Run(pathArgs);
if (args is ["policy-cost", .. var policyArgs])
    return OverlayKvm.Bench.Policy.PolicyCost.Run(policyArgs);
if (args is ["change-propagation", .. var propagationArgs])
    return await OverlayKvm.Bench.Cluster.ChangePropagation.RunAsync(propagationArgs);
if (args is ["document-recompute", .. var recomputeArgs])
    return OverlayKvm.Bench.Cluster.DocumentRecompute.Run(recomputeArgs);
if (args is ["aead-compare", .. var aeadArgs])
    return OverlayKvm.Bench.Datapath.AeadComparison.Run(aeadArgs);
if (args is ["throughput", .. var tail])
    return OverlayKvm.Bench.Datapath.ThroughputComparison.Run(tail);

BenchmarkSwitcher.FromAssembly(typeof(AppDefineThroughput).Assembly).Run(args);
return 0;
