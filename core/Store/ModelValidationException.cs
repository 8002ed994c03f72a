namespace OverlayKvm.Core.Store;

/// <summary>A change the model refuses; <see cref="Field"/> names what was wrong ("app web/frontend: address").</summary>
public sealed class ModelValidationException(string field, string message)
    : Exception($"{field}: {message}")
{
    public string Field { get; } = field;
}

/// <summary>A named entity that does not exist.</summary>
public sealed class EntityNotFoundException(string kind, string name)
    : Exception($"{kind} '{name}' not found")
{
    public string Kind { get; } = kind;
    public string Name { get; } = name;
}
