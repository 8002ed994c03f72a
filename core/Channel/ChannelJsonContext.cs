using System.Text.Json.Serialization;
using OverlayKvm.Core.Config;

namespace OverlayKvm.Core.Channel;

/// <summary>Source-generated JSON for every host-channel payload (AOT: no reflection).</summary>
// Nullable annotations and constructor parameters are enforced so a hostile "apps": null is a parse error, not a crash later.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, MaxDepth = 16,
    RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(HelloMessage))]
[JsonSerializable(typeof(ConfigAckMessage))]
[JsonSerializable(typeof(ErrorMessage))]
[JsonSerializable(typeof(AppEventMessage))]
[JsonSerializable(typeof(DomainConfigDocument))]
[JsonSerializable(typeof(EngineAddressRequest))]
[JsonSerializable(typeof(EngineRegisterAnswer))]
[JsonSerializable(typeof(EngineQueryAnswer))]
[JsonSerializable(typeof(EngineDeregisterAnswer))]
[JsonSerializable(typeof(EngineDirectoryChangedMessage))]
[JsonSerializable(typeof(AgentCounterRequest))]
[JsonSerializable(typeof(AgentCounterReply))]
[JsonSerializable(typeof(DirectoryQuery))]
[JsonSerializable(typeof(DirectoryAnswer))]
[JsonSerializable(typeof(EngineLeaveRequest))]
[JsonSerializable(typeof(EngineLeaveReply))]
[JsonSerializable(typeof(EngineJoinNotice))]
internal sealed partial class ChannelJsonContext : JsonSerializerContext
{
}
