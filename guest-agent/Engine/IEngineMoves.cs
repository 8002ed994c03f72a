namespace OverlayKvm.GuestAgent.Engine;

/// <summary>What the host channel's leave/join messages drive (the engine control service; a test double in tests).</summary>
internal interface IEngineMoves
{
    bool HasLeft { get; }

    /// <summary>Unmaps every region and stops attaching; completes when nothing is mapped. Returns how many were unmapped.</summary>
    Task<int> LeaveAsync();

    /// <summary>Allows attaching again and registers soon.</summary>
    void Join();
}
