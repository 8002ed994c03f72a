namespace OverlayKvm.Core.Store;

/// <summary>A change the model refuses; <see cref="Field"/> names what was wrong ("app web/frontend: address").</summary>
public sealed class ModelValidationException(string field, string message)
    : Exception($"{field}: {message}")
{
    public string Field { get; } = field;

    /// <summary>
    /// True when the input is well-formed but collides with the current state (a name or address already taken,
    /// overlapping spaces, a full space, a group that still has apps): HTTP 409 rather than 400.
    /// </summary>
    public bool IsConflict { get; init; }
}

/// <summary>A named entity that does not exist.</summary>
public sealed class EntityNotFoundException(string kind, string name)
    : Exception($"{kind} '{name}' not found")
{
    public string Kind { get; } = kind;
    public string Name { get; } = name;
}
