namespace Hyperion.Internal.Infrastructure;

/// <summary>Tasks started and not awaited (a connection's run loop, a resumed receive): their faults are logged, never lost.</summary>
internal static class BackgroundTasks
{
    public static void Observe(Task task, ServerLog log, string operation)
    {
        if (task.IsCompleted)
        {
            LogFault(task, log, operation);
            return;
        }

        task.ContinueWith(
            static (t, s) =>
            {
                var (log, operation) = ((ServerLog, string))s!;
                LogFault(t, log, operation);
            },
            (log, operation),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.NotOnRanToCompletion,
            TaskScheduler.Default);
    }

    private static void LogFault(Task task, ServerLog log, string operation)
    {
        if (task.Exception is { } fault)
        {
            log.BackgroundFault(operation, fault.InnerExceptions.Count == 1 ? fault.InnerException! : fault);
        }
    }
}
