namespace OverlayKvm.Integration.Tests.Agent;

/// <summary>The namespace tests of the agent run one at a time: each moves tens of MB through real agents on a 2-core machine.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AgentCollection
{
    public const string Name = "agent-netns";
}
