using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Api;

/// <summary>
/// Turns every failure of an API call into a status code and one <see cref="ErrorView"/> line, so overlayctl can
/// print it as it is. Model refusals are 400/404/409; anything unexpected is 500 with a generic line (the
/// details go to the log, never to the client, which may be less privileged than the daemon).
/// </summary>
internal sealed partial class ApiErrors(RequestDelegate next, ILogger<ApiErrors> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception ex) when (!context.Response.HasStarted && Classify(ex) is var (status, message))
        {
            if (status == StatusCodes.Status500InternalServerError)
                Log.Unexpected(logger, context.Request.Method, context.Request.Path, ex);
            context.Response.Clear();
            context.Response.StatusCode = status;
            if (ex is StoreUnavailableException)
                context.Response.Headers[ApiHeaders.Unavailable] = ApiHeaders.UnavailableStore;
            await context.Response.WriteAsJsonAsync(new ErrorView(message), ApiJsonContext.Default.ErrorView);
        }
    }

    internal static (int Status, string Message)? Classify(Exception ex) => ex switch
    {
        ModelValidationException v => (v.IsConflict ? StatusCodes.Status409Conflict : StatusCodes.Status400BadRequest, v.Message),
        EntityNotFoundException n => (StatusCodes.Status404NotFound, n.Message),
        // etcd without quorum: nothing was written; 503 marked as the store's, so overlayctl exits 3 (try again later).
        StoreUnavailableException u => (StatusCodes.Status503ServiceUnavailable, u.Message),
        BadHttpRequestException b => (b.StatusCode, DescribeBadRequest(b)),
        JsonException j => (StatusCodes.Status400BadRequest, "malformed JSON: " + j.Message),
        ApiArgumentException a => (StatusCodes.Status400BadRequest, a.Message),
        Channel.AgentUnavailableException u => (StatusCodes.Status503ServiceUnavailable, u.Message),
        OperationCanceledException => null, // client went away: nothing to answer
        _ => (StatusCodes.Status500InternalServerError, "internal error in overlayd (see its log)"),
    };

    // The framework's message says which parameter failed; the JSON reader's says where in the body.
    private static string DescribeBadRequest(BadHttpRequestException b) =>
        b.InnerException is JsonException j ? "malformed JSON request body: " + j.Message : b.Message;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "API {Method} {Path} failed")]
        public static partial void Unexpected(ILogger logger, string method, string path, Exception ex);
    }
}

/// <summary>A request argument the API refuses before it reaches the store (e.g. a malformed CIDR).</summary>
internal sealed class ApiArgumentException(string message) : Exception(message);
