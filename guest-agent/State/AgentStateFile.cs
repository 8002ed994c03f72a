using System.Text.Json;

namespace OverlayKvm.GuestAgent.State;

/// <summary>An app process counted on an adapter (R0.8), or a systemd unit declared as the app (<paramref name="Unit"/> set, no process: Pid 0).</summary>
internal sealed record Registration(string Group, string App, int Pid, long PidStartTime, string? Unit = null);

/// <summary>The persisted state: registrations and application entities (JSON name "bindings", as before). Written atomically, mode 0600.</summary>
internal sealed record AgentStateData(IReadOnlyList<Registration> Registrations, IReadOnlyList<ApplicationEntity> Bindings);

/// <summary>
/// Keeps <see cref="AgentStateData"/> in the agent's state directory so a restarted agent can reconcile adapters
/// with the apps still running. Holds no secrets (keys come again with the next configuration document).
/// </summary>
internal sealed class AgentStateFile
{
    private readonly string _path;

    public AgentStateFile(string directory)
    {
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, "state.json");
    }

    public AgentStateData Load()
    {
        if (!File.Exists(_path))
        {
            return new AgentStateData([], []);
        }
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(_path), AgentJsonContext.Default.AgentStateData) ?? new AgentStateData([], []);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"agent state file {_path} is corrupt ({ex.Message}); move it away to start clean", ex);
        }
    }

    public void Save(AgentStateData data)
    {
        string tmp = _path + ".tmp";
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var fs = new FileStream(tmp, options))
        {
            JsonSerializer.Serialize(fs, data, AgentJsonContext.Default.AgentStateData);
            fs.Flush(flushToDisk: true);
        }
        File.Move(tmp, _path, overwrite: true);
    }
}
