using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using dotnet_etcd;
using Grpc.Core;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>
/// One dotnet-etcd client for the configured endpoints (TLS and user/password as configured), and the one
/// place where a failed etcd call becomes a <see cref="StoreUnavailableException"/>: every request carries a
/// deadline, so an etcd without quorum costs a caller at most <see cref="EtcdStoreOptions.RequestTimeout"/>.
/// </summary>
internal sealed class EtcdConnection : IDisposable
{
    // A full range read at 10,000 apps is a few MB; gRPC's default 4 MB receive limit would cut it off.
    private const int MaxReceiveBytes = 256 << 20;

    private readonly TimeSpan _timeout;

    public EtcdConnection(EtcdStoreOptions options)
    {
        _timeout = options.RequestTimeout;
        Endpoints = options.Endpoints;
        var secure = options.EndpointUris() is [{ Scheme: "https" }, ..];
        Client = secure
            ? new EtcdClient(options.Endpoints, ssl => ConfigureTls(ssl, options), configureChannelOptions: c => c.MaxReceiveMessageSize = MaxReceiveBytes)
            : new EtcdClient(options.Endpoints, configureChannelOptions: c => c.MaxReceiveMessageSize = MaxReceiveBytes);
        if (options.User is { } user && options.PasswordFile is { } passwordFile)
        {
            Client.SetCredentials(user, File.ReadAllText(passwordFile).TrimEnd('\r', '\n'));
        }
    }

    public EtcdClient Client { get; }

    public string Endpoints { get; }

    public DateTime Deadline() => DateTime.UtcNow + _timeout;

    /// <summary>Runs one etcd call; any transport or server failure becomes <see cref="StoreUnavailableException"/>.</summary>
    public T Call<T>(string operation, Func<EtcdClient, DateTime, T> call)
    {
        DateTime deadline = Deadline();
        try
        {
            return call(Client, deadline);
        }
        catch (Exception e) when (Describe(e, deadline) is { } reason)
        {
            throw Unavailable(operation, reason, e);
        }
    }

    public async Task<T> CallAsync<T>(string operation, Func<EtcdClient, DateTime, Task<T>> call)
    {
        DateTime deadline = Deadline();
        try
        {
            return await call(Client, deadline).ConfigureAwait(false);
        }
        catch (Exception e) when (Describe(e, deadline) is { } reason)
        {
            throw Unavailable(operation, reason, e);
        }
    }

    public void Dispose() => Client.Dispose();

    /// <summary>
    /// One line for an operator; null for exceptions that are not about reaching etcd. <paramref name="deadline"/> is
    /// the call's: Grpc.Net.Client does not always report its own deadline as DeadlineExceeded — when the deadline
    /// timer cancels the HTTP/2 request while it waits for response headers, the call ends in a
    /// <see cref="TaskCanceledException"/> instead. A cancellation once the deadline has passed is that timeout (it
    /// stopped overlayd's liveness loop, and with it the daemon, during a quorum loss); one before it is the caller's.
    /// </summary>
    internal string? Describe(Exception e, DateTime deadline) => e switch
    {
        RpcException { StatusCode: StatusCode.DeadlineExceeded } => NoAnswer,
        RpcException r => $"{r.StatusCode}: {r.Status.Detail}",
        HttpRequestException h => h.Message,
        IOException io => io.Message,
        OperationCanceledException when DateTime.UtcNow >= deadline => NoAnswer,
        _ => null,
    };

    /// <summary>
    /// The one-line failure. An unanswered write is not a refused one: a transaction etcd received before the deadline
    /// can still commit when the quorum returns, so the operator is told to look before repeating it (seen in
    /// EtcdQuorumLossTests: the retry of a timed-out app-define found the app defined).
    /// </summary>
    private StoreUnavailableException Unavailable(string operation, string reason, Exception e) => new(
        $"store unavailable: etcd ({Endpoints}) {operation}: {reason}"
        + (operation == "write" && reason == NoAnswer ? "; the write may still take effect when etcd answers: check before repeating it" : ""),
        e);

    private string NoAnswer => $"no answer within {_timeout.TotalSeconds:0.#} s (quorum lost or members down?)";

    private static void ConfigureTls(SslClientAuthenticationOptions ssl, EtcdStoreOptions options)
    {
        if (options.ClientCertificate is { } cert && options.ClientKey is { } key)
        {
            ssl.ClientCertificates = [X509Certificate2.CreateFromPemFile(cert, key)];
        }

        if (options.CaCertificate is { } caFile)
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(caFile);
            ssl.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                {
                    return false;
                }

                // Trust exactly the configured CA, not the machine's store: etcd clusters use their own CA.
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }
    }
}
