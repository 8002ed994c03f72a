using System.Text.Json.Serialization;
using OverlayKvm.GuestAgent.Control;
using OverlayKvm.GuestAgent.State;

namespace OverlayKvm.GuestAgent;

/// <summary>Source-generated JSON for the control socket and the state file (the agent is Native AOT).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, MaxDepth = 16,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(ControlRequest))]
[JsonSerializable(typeof(ControlResponse))]
[JsonSerializable(typeof(AgentStateData))]
[JsonSerializable(typeof(StatReport))]
[JsonSerializable(typeof(IReadOnlyList<OverlayKvm.GuestAgent.Control.RuleView>))]
internal sealed partial class AgentJsonContext : JsonSerializerContext
{
}
