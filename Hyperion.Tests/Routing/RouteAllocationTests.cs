using System.Text;
using Hyperion;
using Hyperion.Internal.Dispatch;
using Hyperion.Tests.Performance;

namespace Hyperion.Tests.Routing;

/// <summary>
/// A template lookup and a typed read of its value allocate nothing: measured on this thread around the shared
/// dispatch core (the lookup both protocols run), with a control loop that does allocate so the meter is shown
/// to see allocations. The socket-level row is <c>/todos/42</c> in <see cref="AllocationTests"/>.
/// </summary>
[Collection(nameof(AllocationCollection))]
public class RouteAllocationTests
{
    private const int Iterations = 10_000;

    [Fact]
    public void A_template_lookup_and_GetInt32_allocate_nothing_while_the_string_indexer_is_seen_allocating()
    {
        var server = new HyperionServer();
        server.Handle("GET", "/todos/{id}", env => RackResponse.Text(200, "ok"));
        server.Handle("GET", "/users/{user}/todos/{id}", env => RackResponse.Text(200, "ok"));
        server.Handle("GET", "/files/{path...}", env => RackResponse.Text(200, "ok"));
        server.Handle("POST", "/todos/{id}", env => RackResponse.Text(200, "ok"));
        server.HandleStatic("GET", "/health", "ok");
        var env = server.RentEnv();
        var head = Encoding.ASCII.GetBytes("/users/7/todos/%34%32");
        env.CopyHead(head);
        env.SetTarget(0, head.Length, -1, 0);

        long sum = 0;
        long Run(bool readString)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < Iterations; i++)
            {
                var entry = RequestDispatcher.Begin(server, env, asteriskForm: false, out _);
                sum += entry!.Sync!(env).Status + env.RouteValues.GetInt32("id") + env.RouteValues.GetInt64("user");
                if (readString)
                {
                    sum += env.RouteValues["id"].Length;
                }
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Run(readString: false);
        Run(readString: true);
        long typed = Run(readString: false);
        long strings = Run(readString: true);

        sum.Should().Be(4L * Iterations * (200 + 42 + 7) + (2L * Iterations * 2));
        strings.Should().BeGreaterThanOrEqualTo(Iterations * 24L, "the control loop decodes a new string per request, and the meter sees it");
        typed.Should().Be(0, "a template lookup plus GetInt32/GetInt64 allocates nothing per request");
    }
}
