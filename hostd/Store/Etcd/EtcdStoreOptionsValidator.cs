using Microsoft.Extensions.Options;

namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>Collects every problem of <see cref="EtcdStoreOptions"/>, each with its path.</summary>
public sealed class EtcdStoreOptionsValidator : IValidateOptions<EtcdStoreOptions>
{
    private const string S = EtcdStoreOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, EtcdStoreOptions options)
    {
        var errors = new List<string>();
        var parts = options.Endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            errors.Add($"{S}.Endpoints: is empty; give the etcd client URLs, e.g. --etcd-endpoints http://127.0.0.1:2379");
        }

        var https = 0;
        foreach (var part in parts)
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Port <= 0 || uri.AbsolutePath != "/")
            {
                errors.Add($"{S}.Endpoints: '{part}' is not an http(s)://HOST:PORT URL");
            }
            else if (uri.Scheme == "https")
            {
                https++;
            }
        }

        if (https != 0 && https != parts.Length)
        {
            errors.Add($"{S}.Endpoints: mixes http and https endpoints; use one scheme for all");
        }

        if (!options.Prefix.StartsWith('/') || options.Prefix.Length < 2)
        {
            errors.Add($"{S}.Prefix: '{options.Prefix}' must start with '/' and name something, e.g. {EtcdKeys.DefaultPrefix}");
        }

        if (string.IsNullOrWhiteSpace(options.ClusterKey))
        {
            errors.Add($"{S}.ClusterKey: is empty; the etcd store needs --cluster-key FILE (32 bytes, mode 0600) to seal group keys");
        }

        CheckFile(errors, "CaCertificate", options.CaCertificate);
        CheckFile(errors, "ClientCertificate", options.ClientCertificate);
        CheckFile(errors, "ClientKey", options.ClientKey);
        CheckFile(errors, "PasswordFile", options.PasswordFile);
        if ((options.ClientCertificate is null) != (options.ClientKey is null))
        {
            errors.Add($"{S}.ClientCertificate/ClientKey: give both (--etcd-cert and --etcd-key) or neither");
        }

        if ((options.User is null) != (options.PasswordFile is null))
        {
            errors.Add($"{S}.User/PasswordFile: give both (--etcd-user and --etcd-password-file) or neither");
        }

        if ((options.CaCertificate ?? options.ClientCertificate) is not null && https == 0 && parts.Length > 0)
        {
            errors.Add($"{S}.Endpoints: TLS files are given but the endpoints are http://; use https:// URLs");
        }

        if (options.RequestTimeout <= TimeSpan.Zero || options.RequestTimeout > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{S}.RequestTimeout: {options.RequestTimeout} must be above 0 and at most 1 minute");
        }

        if (options.ProbeInterval < TimeSpan.FromMilliseconds(100) || options.ProbeInterval > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{S}.ProbeInterval: {options.ProbeInterval} must be between 100 ms and 1 minute");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckFile(List<string> errors, string field, string? path)
    {
        if (path is not null && !File.Exists(path))
        {
            errors.Add($"{S}.{field}: '{path}' does not exist");
        }
    }
}
