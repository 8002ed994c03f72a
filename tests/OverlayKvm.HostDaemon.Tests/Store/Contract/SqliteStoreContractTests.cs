namespace OverlayKvm.HostDaemon.Tests.Store.Contract;

// The store contract suites on the embedded SQLite store (their etcd twins: Etcd/EtcdStoreContractTests.cs).

public sealed class SqliteStoreValidationTests() : StoreValidationContract(new SqliteStoreHarness());

public sealed class SqliteStoreVersionTests() : StoreVersionContract(new SqliteStoreHarness());

public sealed class SqliteStoreCredentialTests() : StoreCredentialContract(new SqliteStoreHarness());

public sealed class SqliteStoreSnapshotTests() : StoreSnapshotContract(new SqliteStoreHarness());
public sealed class SqliteStoreAddressSourceTests() : StoreAddressSourceContract(new SqliteStoreHarness());

public sealed class SqliteStoreEngineSwitchTests() : StoreEngineSwitchContract(new SqliteStoreHarness());

public sealed class SqliteStoreDomainPinTests() : StoreDomainPinContract(new SqliteStoreHarness());

public sealed class SqliteStoreCipherTests() : StoreCipherContract(new SqliteStoreHarness());
