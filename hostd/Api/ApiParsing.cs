using System.Net;
using OverlayKvm.Core.Model.Validation;

namespace OverlayKvm.HostDaemon.Api;

/// <summary>Request fields → model values through the model's own rules (one parser for API and store).</summary>
internal static class ApiParsing
{
    public static IPNetwork Cidr(string field, string? text) => AddressSpaceRules.ParseSpace(field, text);

    public static IPAddress? OptionalAddress(string field, string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : AddressSpaceRules.ParseAddress(field, text);

    public static string Required(string field, string? text) =>
        string.IsNullOrWhiteSpace(text) ? throw new ApiArgumentException($"{field}: is required") : text;
}
