namespace OverlayKvm.Cli.Client;

/// <summary>Paths of overlayd's admin API that the commands build from user input (escaped once, here).</summary>
internal static class ApiPaths
{
    /// <summary>v1/domains/DOMAIN/RESOURCE, the domain name escaped (it comes from the command line).</summary>
    public static string Domain(string domain, string resource) => $"v1/domains/{Uri.EscapeDataString(domain)}/{resource}";
}
