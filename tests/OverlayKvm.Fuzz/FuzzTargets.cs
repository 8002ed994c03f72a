using OverlayKvm.Fuzz.Targets;

namespace OverlayKvm.Fuzz;

/// <summary>Every target by name (docs/fuzzing.md lists what each covers).</summary>
internal static class FuzzTargets
{
    public static IReadOnlyList<string> Names { get; } =
        ["sealed-frame", "negotiation", "channel-host", "channel-agent", "engine-region", "ring", "hook-xml", "api-json"];

    /// <summary>Creates the named target (its fixtures live until Dispose); null for an unknown name.</summary>
    public static FuzzTarget? Create(string name) => name switch
    {
        "sealed-frame" => new SealedFrameTarget(),
        "negotiation" => new NegotiationTarget(),
        "channel-host" => new ChannelHostTarget(),
        "channel-agent" => new ChannelAgentTarget(),
        "engine-region" => new EngineRegionTarget(),
        "ring" => new RingTarget(),
        "hook-xml" => new HookXmlTarget(),
        "api-json" => new ApiJsonTarget(),
        _ => null,
    };
}
