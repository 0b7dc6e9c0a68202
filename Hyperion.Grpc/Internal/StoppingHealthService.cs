using Grpc.Core;
using Grpc.Health.V1;
using Grpc.HealthCheck;

namespace Hyperion.Grpc.Internal;

/// <summary>
/// Grpc.HealthCheck's service, told about a graceful stop (grpc's C++ server does the same on Shutdown): the whole
/// server (<c>""</c>) and every service bound on it turn NOT_SERVING, so Check answers it during the drain, and each
/// Watch call ends with OK once it has sent that change. A Watch never ends by itself, so without this every stop
/// would wait out <see cref="HyperionOptions.ShutdownTimeout"/> for its watchers.
/// </summary>
internal sealed class StoppingHealthService : HealthServiceImpl
{
    private static readonly HealthCheckResponse.Types.ServingStatus NotServing = HealthCheckResponse.Types.ServingStatus.NotServing;

    private readonly CancellationToken _stopping;
    private readonly Func<string[]> _serviceNames;

    public StoppingHealthService(CancellationToken stopping, Func<string[]> serviceNames)
    {
        _stopping = stopping;
        _serviceNames = serviceNames;

        // Registered before any Watch's own callback, so it runs after them (last in, first run): by then each watch
        // knows the stop began and ends once it has written the NOT_SERVING this publishes.
        stopping.Register(static s => ((StoppingHealthService)s!).OnStopping(), this);
    }

    private void OnStopping()
    {
        SetStatus(string.Empty, NotServing);
        foreach (var name in _serviceNames())
        {
            SetStatus(name, NotServing);
        }
    }

    public override async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context)
    {
        using var end = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var writer = new StopAwareWriter(responseStream, end);
        bool published = request.Service.Length == 0 || Array.IndexOf(_serviceNames(), request.Service) >= 0;
        await using (_stopping.Register(static s => ((StopAwareWriter)s!).OnStopping(), writer))
        {
            if (!published)
            {
                // A name the stop does not publish a change for: nothing more will come, the watch just ends.
                writer.EndOnAnyStatus = true;
            }

            try
            {
                await base.Watch(request, writer, new CallContextWithToken(context, end.Token)).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
            {
                // Ended by the stop: the call completes OK, and the client's Watch sees the stream end.
            }
        }
    }

    /// <summary>Passes the watch's messages on; once the stop began, ends the call after a status other than SERVING.</summary>
    private sealed class StopAwareWriter(IServerStreamWriter<HealthCheckResponse> inner, CancellationTokenSource end) : IServerStreamWriter<HealthCheckResponse>
    {
        private volatile bool _stopping;
        private HealthCheckResponse.Types.ServingStatus _last = HealthCheckResponse.Types.ServingStatus.Serving;

        public bool EndOnAnyStatus { get; set; }

        public WriteOptions? WriteOptions
        {
            get => inner.WriteOptions;
            set => inner.WriteOptions = value;
        }

        public void OnStopping()
        {
            _stopping = true;
            if (EndOnAnyStatus || _last != HealthCheckResponse.Types.ServingStatus.Serving)
            {
                end.Cancel();
            }
        }

        public async Task WriteAsync(HealthCheckResponse message)
        {
            await inner.WriteAsync(message).ConfigureAwait(false);
            _last = message.Status;
            if (_stopping && message.Status != HealthCheckResponse.Types.ServingStatus.Serving)
            {
                end.Cancel();
            }
        }
    }
}
