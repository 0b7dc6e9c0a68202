using Hyperion;
using Hyperion.Native;

namespace Hyperion.Tests.Infrastructure;

/// <summary>
/// Base of the functional suites that must hold on every transport: each suite is declared once and
/// run by one subclass per transport (the parameter), not copied.
/// </summary>
public abstract class TransportTests
{
    /// <summary>The transport this run exercises.</summary>
    protected abstract TransportKind Transport { get; }

    /// <summary>io_uring when the kernel offers it; otherwise the run falls back to sockets and <see cref="IoUringAvailabilityTests"/> reports the skip.</summary>
    protected static TransportKind IoUringOrFallback => IoUringSupport.IsSupported ? TransportKind.IoUring : TransportKind.Sockets;

    protected Task<TestServer> StartAsync(Action<HyperionServer> configure, Action<HyperionOptions>? options = null)
        => TestServer.StartAsync(configure, o =>
        {
            o.Transport = Transport;
            options?.Invoke(o);
        });
}

/// <summary>A fact that is skipped, with the kernel's reason, when io_uring is unavailable.</summary>
public sealed class RequiresIoUringFactAttribute : FactAttribute
{
    public RequiresIoUringFactAttribute()
    {
        if (!IoUringSupport.IsSupported)
        {
            Skip = "io_uring unavailable here (" + IoUringSupport.Reason + "); the io_uring suites ran on sockets";
        }
    }
}

public class IoUringAvailabilityTests
{
    [RequiresIoUringFact]
    public async Task A_server_on_auto_runs_io_uring_where_the_kernel_offers_it()
    {
        await using var ts = await TestServer.StartAsync(s => s.HandleStatic("GET", "/", "x"), o => o.Transport = TransportKind.Auto);
        ts.Server.ActiveTransport.Should().Be(TransportKind.IoUring);
        ts.Logs.Lines.Should().ContainSingle(l => l.EventId.Name == "Transport" && l.Message.Contains("io_uring", StringComparison.Ordinal));
    }
}
