using System.Text.Json.Serialization;
using OverlayKvm.Core.Config;

namespace OverlayKvm.Core.Api;

/// <summary>Source-generated JSON for the admin API (AOT-clean; shared by overlayd and overlayctl).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
[JsonSerializable(typeof(GroupDefineRequest))]
[JsonSerializable(typeof(GroupView))]
[JsonSerializable(typeof(List<GroupView>))]
[JsonSerializable(typeof(CredentialsRotateRequest))]
[JsonSerializable(typeof(GroupProtectionRequest))]
[JsonSerializable(typeof(CredentialEpochView))]
[JsonSerializable(typeof(AppDefineRequest))]
[JsonSerializable(typeof(AppView))]
[JsonSerializable(typeof(List<AppView>))]
[JsonSerializable(typeof(DomainDefineRequest))]
[JsonSerializable(typeof(DomainView))]
[JsonSerializable(typeof(List<DomainView>))]
[JsonSerializable(typeof(HealthView))]
[JsonSerializable(typeof(VersionView))]
[JsonSerializable(typeof(ErrorView))]
[JsonSerializable(typeof(ChannelView))]
[JsonSerializable(typeof(List<ChannelView>))]
[JsonSerializable(typeof(HostView))]
[JsonSerializable(typeof(List<HostView>))]
[JsonSerializable(typeof(DomainConfigDocument))]
[JsonSerializable(typeof(AgentCounters))]
[JsonSerializable(typeof(EngineStat))]
[JsonSerializable(typeof(EngineSwitchResponse))]
[JsonSerializable(typeof(AttachRequest))]
[JsonSerializable(typeof(AttachResponse))]
[JsonSerializable(typeof(MigrateRequest))]
[JsonSerializable(typeof(MigrateResponse))]
[JsonSerializable(typeof(EngineLeaveView))]
[JsonSerializable(typeof(EngineJoinView))]
[JsonSerializable(typeof(PlacementDecision))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
