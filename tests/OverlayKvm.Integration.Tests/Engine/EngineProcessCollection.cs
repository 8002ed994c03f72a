namespace OverlayKvm.Integration.Tests.Engine;

/// <summary>The multi-process engine tests saturate both cores: run them one after another, not side by side.</summary>
[CollectionDefinition(Name)]
public sealed class EngineProcessCollection
{
    public const string Name = "engine processes";
}
