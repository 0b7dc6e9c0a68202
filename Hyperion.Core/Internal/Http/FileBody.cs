using Microsoft.Win32.SafeHandles;

namespace Hyperion.Internal.Http;

/// <summary>
/// A file response body, opened once: the length announced in the head is fstat(2) of this descriptor, and exactly
/// that many bytes are sent from it. Re-opening by path (or a FileInfo length) would let a file replaced or resized
/// in between break the message framing (RFC 9112 §6.3). HTTP/1.1 and HTTP/2 both open file bodies here.
/// </summary>
internal sealed class FileBody : IDisposable
{
    private SafeFileHandle? _handle;
    private long _offset;

    private FileBody(SafeFileHandle handle, long length)
    {
        _handle = handle;
        Length = length;
    }

    /// <summary>The announced length: the size of the opened file when it was opened.</summary>
    public long Length { get; }

    /// <summary>Opens <paramref name="path"/> for reading; null when there is no such file (the caller answers 404).</summary>
    public static FileBody? TryOpen(string path)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan | FileOptions.Asynchronous);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException || (ex is UnauthorizedAccessException && Directory.Exists(path)))
        {
            return null;
        }

        try
        {
            return new FileBody(handle, RandomAccess.GetLength(handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Hands the descriptor to a transport that sends it from the kernel and closes it when done.</summary>
    public SafeFileHandle Detach()
    {
        var handle = _handle ?? throw new ObjectDisposedException(nameof(FileBody));
        _handle = null;
        return handle;
    }

    /// <summary>
    /// Reads the next part of the body into <paramref name="buffer"/>; 0 once <see cref="Length"/> bytes were read.
    /// A file that grew is cut at the announced length; one that shrank throws, so the caller cuts the connection
    /// instead of sending a short body.
    /// </summary>
    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        long left = Length - _offset;
        if (left == 0)
        {
            return 0;
        }

        var handle = _handle ?? throw new ObjectDisposedException(nameof(FileBody));
        int n = await RandomAccess.ReadAsync(handle, buffer[..(int)Math.Min(buffer.Length, left)], _offset, cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            throw ShrankException(Length, _offset);
        }

        _offset += n;
        return n;
    }

    /// <summary>The error for a file that ended before its announced length.</summary>
    public static IOException ShrankException(long length, long sent)
        => new($"The file body ended after {sent} of its announced {length} bytes (the file shrank after it was opened); the connection is cut rather than the response sent short.");

    public void Dispose()
    {
        _handle?.Dispose();
        _handle = null;
    }
}
