using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using Hyperion.Samples.Greet;

namespace GrpcLoad;

/// <summary>
/// Connections (one <see cref="GrpcChannel"/> each, so one HTTP/2 connection each) and the workers that keep
/// <see cref="LoadSettings.Concurrency"/> calls in flight on every one of them.
/// </summary>
internal sealed class LoadRun : IDisposable
{
    // A call that takes longer than this is a failure, not a slow sample: no run can hang on a stuck server.
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(10);

    private readonly LoadSettings _settings;
    private readonly GrpcChannel[] _channels;
    private readonly Greeter.GreeterClient[] _clients;

    public LoadRun(LoadSettings settings)
    {
        _settings = settings;
        _channels = new GrpcChannel[settings.Connections];
        _clients = new Greeter.GreeterClient[settings.Connections];
        for (int c = 0; c < settings.Connections; c++)
        {
            var handler = new SocketsHttpHandler
            {
                // One connection per channel: the server sees exactly --connections connections.
                EnableMultipleHttp2Connections = false,
                SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            };
            _channels[c] = GrpcChannel.ForAddress(settings.Url!, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
            _clients[c] = new Greeter.GreeterClient(_channels[c]);
        }
    }

    public async Task<LoadResult> RunAsync(TimeSpan duration, long callLimit, int serverPid)
    {
        double server0 = ProcessCpu.Seconds(serverPid);
        TimeSpan client0 = Environment.CpuUsage.TotalTime;
        var workers = new Worker[_settings.Connections * _settings.Concurrency];
        var budget = new CallBudget(callLimit);
        long start = Stopwatch.GetTimestamp();
        long end = callLimit > 0 ? long.MaxValue : start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var tasks = new Task[workers.Length];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = new Worker(_clients[w % _clients.Length], _settings.Messages, end, budget);
            tasks[w] = _settings.Mode switch
            {
                "unary" => workers[w].UnaryAsync(),
                "server-stream" => workers[w].ServerStreamAsync(),
                _ => workers[w].BidiAsync(),
            };
        }

        await Task.WhenAll(tasks);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        double serverCpu = ProcessCpu.Seconds(serverPid) - server0;
        double clientCpu = (Environment.CpuUsage.TotalTime - client0).TotalSeconds;
        return LoadResult.Merge(workers.Select(w => (w.Calls, w.Messages, (IEnumerable<double>)w.LatenciesMs, (IEnumerable<KeyValuePair<string, long>>)w.Statuses)), seconds, serverCpu, clientCpu);
    }

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }

    /// <summary>One sequence of calls, one after another; its counts are merged after the run.</summary>
    private sealed class Worker(Greeter.GreeterClient client, int messages, long end, CallBudget budget)
    {
        private static readonly double MsPerTick = 1000.0 / Stopwatch.Frequency;
        private readonly HelloRequest _request = new() { Name = "world" };
        private readonly HelloRequest _streamRequest = new() { Name = "world", Count = messages };

        public List<double> LatenciesMs { get; } = new(1 << 14);

        public Dictionary<string, long> Statuses { get; } = new(StringComparer.Ordinal);

        public long Calls { get; private set; }

        public long Messages { get; private set; }

        public async Task UnaryAsync()
        {
            while (Stopwatch.GetTimestamp() < end && budget.TryTake())
            {
                long t0 = Stopwatch.GetTimestamp();
                string status = "OK";
                try
                {
                    HelloReply reply = await client.SayHelloAsync(_request, deadline: DateTime.UtcNow + CallDeadline);
                    if (reply.Message != "Hello, world")
                    {
                        throw new InvalidDataException("unexpected reply: " + reply.Message);
                    }

                    Messages++;
                }
                catch (Exception e) when (IsCallFailure(e))
                {
                    status = StatusOf(e);
                }

                Record(t0, status);
            }
        }

        public async Task ServerStreamAsync()
        {
            while (Stopwatch.GetTimestamp() < end)
            {
                long t0 = Stopwatch.GetTimestamp();
                string status = "OK";
                try
                {
                    using var call = client.SayHellos(_streamRequest, deadline: DateTime.UtcNow + CallDeadline);
                    int received = 0;
                    while (await call.ResponseStream.MoveNext(CancellationToken.None))
                    {
                        received++;
                    }

                    Messages += received;
                    if (received != messages)
                    {
                        throw new InvalidDataException($"{received} replies, not {messages}");
                    }
                }
                catch (Exception e) when (IsCallFailure(e))
                {
                    status = StatusOf(e);
                }

                Record(t0, status);
            }
        }

        // Ping-pong on one long call: every round trip is a latency sample and a message; the call's end is the call.
        public async Task BidiAsync()
        {
            long callStart = Stopwatch.GetTimestamp();
            string status = "OK";
            try
            {
                using var call = client.Chat(deadline: DateTime.UtcNow + CallDeadline + TimeSpan.FromTicks(Math.Max(0, end - callStart) * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
                while (Stopwatch.GetTimestamp() < end)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    await call.RequestStream.WriteAsync(_request);
                    if (!await call.ResponseStream.MoveNext(CancellationToken.None))
                    {
                        throw new InvalidDataException("the server ended the call before replying");
                    }

                    LatenciesMs.Add((Stopwatch.GetTimestamp() - t0) * MsPerTick);
                    Messages++;
                }

                await call.RequestStream.CompleteAsync();
                if (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                    throw new InvalidDataException("a reply with no request");
                }
            }
            catch (Exception e) when (IsCallFailure(e))
            {
                status = StatusOf(e);
            }

            Calls++;
            Statuses[status] = Statuses.GetValueOrDefault(status) + 1;
        }

        private void Record(long t0, string status)
        {
            LatenciesMs.Add((Stopwatch.GetTimestamp() - t0) * MsPerTick);
            Calls++;
            Statuses[status] = Statuses.GetValueOrDefault(status) + 1;
        }

        private static bool IsCallFailure(Exception e)
            => e is RpcException or InvalidDataException or IOException or HttpRequestException or OperationCanceledException;

        // The call's grpc-status as the client read it from the trailers; a failure with no status names its type.
        private static string StatusOf(Exception e) => e is RpcException rpc ? rpc.StatusCode.ToString() : "client:" + e.GetType().Name;
    }
}
