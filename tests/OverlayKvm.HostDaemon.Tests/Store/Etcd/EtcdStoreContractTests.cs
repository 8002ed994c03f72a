using OverlayKvm.HostDaemon.Tests.Store.Contract;

namespace OverlayKvm.HostDaemon.Tests.Store.Etcd;

// The same store contract suites as SqliteStoreContractTests.cs, on a real 3-member etcd (issue 11, Show 6).

[Collection("etcd contract")]
public sealed class EtcdStoreValidationTests(EtcdContractCluster etcd) : StoreValidationContract(new EtcdStoreHarness(etcd.Cluster));

[Collection("etcd contract")]
public sealed class EtcdStoreVersionTests(EtcdContractCluster etcd) : StoreVersionContract(new EtcdStoreHarness(etcd.Cluster));

[Collection("etcd contract")]
public sealed class EtcdStoreCredentialTests(EtcdContractCluster etcd) : StoreCredentialContract(new EtcdStoreHarness(etcd.Cluster));

[Collection("etcd contract")]
public sealed class EtcdStoreSnapshotTests(EtcdContractCluster etcd) : StoreSnapshotContract(new EtcdStoreHarness(etcd.Cluster));

[Collection("etcd contract")]
public sealed class EtcdStoreAddressSourceTests(EtcdContractCluster etcd) : StoreAddressSourceContract(new EtcdStoreHarness(etcd.Cluster));

[Collection("etcd contract")]
public sealed class EtcdStoreEngineSwitchTests(EtcdContractCluster etcd) : StoreEngineSwitchContract(new EtcdStoreHarness(etcd.Cluster));

[Collection("etcd contract")]
public sealed class EtcdStoreDomainPinTests(EtcdContractCluster etcd) : StoreDomainPinContract(new EtcdStoreHarness(etcd.Cluster));

[Collection("etcd contract")]
public sealed class EtcdStoreCipherTests(EtcdContractCluster etcd) : StoreCipherContract(new EtcdStoreHarness(etcd.Cluster));
