using System.Net.Sockets;
using Hyperion.Internal.Http;
using Microsoft.Win32.SafeHandles;

namespace Hyperion.Internal.Transport;

/// <summary>
/// sendfile(2) on the System.Net.Sockets transport from the descriptor the file body was opened on: Socket.SendFileAsync
/// takes only a path (a second open, which could see another file), SendPacketsAsync takes the open file and on Linux
/// sends it with sendfile.
/// </summary>
internal static class SocketFileSender
{
    /// <summary>SendPacketsElement counts are ints (and 0 means "to the end of the file"): larger files go in parts.</summary>
    private const int MaxPart = 1 << 30;

    public static async ValueTask SendAsync(Socket socket, FileBody file, CancellationToken cancellationToken)
    {
        if (file.Length == 0)
        {
            return;
        }

        var handle = AsAsync(file.Detach());
        await using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0, isAsync: true);
        var parts = new SendPacketsElement[(int)((file.Length + MaxPart - 1) / MaxPart)];
        for (int i = 0; i < parts.Length; i++)
        {
            long offset = (long)i * MaxPart;
            parts[i] = new SendPacketsElement(stream, file.Offset + offset, (int)Math.Min(MaxPart, file.Length - offset), endOfPacket: i == parts.Length - 1);
        }

        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var args = new SocketAsyncEventArgs { SendPacketsElements = parts };
        args.Completed += (_, e) => Complete(e, completion);
        await using (cancellationToken.UnsafeRegister(static s => ((Socket)s!).Dispose(), socket))
        {
            if (!socket.SendPacketsAsync(args))
            {
                Complete(args, completion);
            }

            try
            {
                await completion.Task.ConfigureAwait(false);
            }
            catch (IOException) when (!cancellationToken.IsCancellationRequested && RandomAccess.GetLength(handle) < file.Offset + file.Length)
            {
                // A file cut while sendfile read it can fail the send rather than end it short: same cause, same report.
                throw FileBody.ShrankException(file.Length, args.BytesTransferred);
            }
        }

        if (args.BytesTransferred != file.Length)
        {
            throw FileBody.ShrankException(file.Length, args.BytesTransferred);
        }
    }

    /// <summary>
    /// SendPacketsAsync takes only a FileStream opened for asynchronous I/O; a descriptor opened by static files is not
    /// (open(2) with O_NONBLOCK). /proc/self/fd/N opens the same inode again, whatever became of its path since.
    /// </summary>
    private static SafeFileHandle AsAsync(SafeFileHandle handle)
    {
        if (handle.IsAsync)
        {
            return handle;
        }

        using (handle)
        {
            return File.OpenHandle($"/proc/self/fd/{handle.DangerousGetHandle()}", FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan | FileOptions.Asynchronous);
        }
    }

    private static void Complete(SocketAsyncEventArgs e, TaskCompletionSource completion)
    {
        if (e.SocketError == SocketError.Success)
        {
            completion.TrySetResult();
        }
        else
        {
            completion.TrySetException(new IOException($"sendfile failed: {e.SocketError}", new SocketException((int)e.SocketError)));
        }
    }
}
