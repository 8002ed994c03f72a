using System.Runtime.CompilerServices;

// The executables' assembly names differ from their project names (overlay-agent, overlayd), and the csproj's
// InternalsVisibleTo items name the projects; these make core's internals visible to the binaries themselves.
[assembly: InternalsVisibleTo("overlay-agent")]
[assembly: InternalsVisibleTo("overlayd")]
