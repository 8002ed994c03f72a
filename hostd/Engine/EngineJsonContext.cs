using System.Text.Json;
using System.Text.Json.Serialization;

namespace OverlayKvm.HostDaemon.Engine;

/// <summary>The engine API's JSON body when switching a group: the group and whether its engine is now on.</summary>
public sealed record EngineSwitchResponse(string Group, bool Enabled, string Status);

/// <summary>An error body that names what failed.</summary>
public sealed record EngineErrorResponse(string Error);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(EngineStat))]
[JsonSerializable(typeof(EngineSwitchResponse))]
[JsonSerializable(typeof(EngineErrorResponse))]
public sealed partial class EngineJsonContext : JsonSerializerContext;
