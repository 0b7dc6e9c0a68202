using Microsoft.Win32.SafeHandles;

namespace Hyperion.Internal.Http;

/// <summary>
/// A file response body, opened once: the length announced in the head comes from fstat(2) of this descriptor, and
/// exactly that many bytes are sent from it. Re-opening by path (or a FileInfo length) would let a file replaced or
/// resized in between break the message framing (RFC 9112 §6.3). A body may be a part of the file (a byte range,
/// RFC 9110 §14): <see cref="Offset"/> and <see cref="Length"/> then say which part. HTTP/1.1 and HTTP/2 both open
/// file bodies here.
/// </summary>
internal sealed class FileBody : IDisposable
{
    private SafeFileHandle? _handle;
    private long _position;

    internal FileBody(SafeFileHandle handle, long offset, long length)
    {
        _handle = handle;
        Offset = offset;
        Length = length;
    }

    /// <summary>Where in the file the body starts.</summary>
    public long Offset { get; }

    /// <summary>The announced length: how many bytes from <see cref="Offset"/> are sent.</summary>
    public long Length { get; }

    /// <summary>
    /// The body of a file response: the descriptor the response carries (opened and checked by static files) or its
    /// path opened now; null when there is no such file (the caller answers 404).
    /// </summary>
    public static FileBody? Open(in RackResponse response)
    {
        if (response.BodyObject is FileBody opened)
        {
            return opened;
        }

        return response.BodyObject is FileSpec part ? TryOpen(part.Path, part.Offset, part.Length) : TryOpen((string)response.BodyObject!);
    }

    /// <summary>
    /// The number of body bytes a file response will send, without opening it: -2 when its file does not exist (the
    /// server answers 404), -1 when it cannot be known before opening.
    /// </summary>
    public static long LengthOf(in RackResponse response)
    {
        switch (response.BodyObject)
        {
            case FileBody opened:
                return opened.Length;
            case FileSpec { Length: >= 0 } part:
                return part.Length;
            case FileSpec part:
                var partInfo = new FileInfo(part.Path);
                return partInfo.Exists ? Math.Max(0, partInfo.Length - part.Offset) : -2;
            case string path:
                var info = new FileInfo(path);
                return info.Exists ? info.Length : -2;
            default:
                return -1;
        }
    }

    /// <summary>The path of a path-based file response, for the log line when it is missing.</summary>
    public static string PathOf(in RackResponse response) => response.BodyObject switch
    {
        FileSpec part => part.Path,
        string path => path,
        _ => "(opened file)",
    };

    /// <summary>
    /// Opens <paramref name="path"/> for reading; null when there is no such file. A negative <paramref name="length"/>
    /// means "to the end of the file as it is now"; a part that does not fit in the file as it is now throws (the head
    /// is not sent, the client gets 500): a Content-Range built from an older size would not describe these bytes.
    /// </summary>
    public static FileBody? TryOpen(string path, long offset = 0, long length = -1)
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
            long size = RandomAccess.GetLength(handle);
            if (offset > size || (length >= 0 && length > size - offset))
            {
                throw new InvalidOperationException($"The file response asks for {length} bytes from offset {offset}, but the file has {size} bytes.");
            }

            return new FileBody(handle, offset, length < 0 ? size - offset : length);
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
        long left = Length - _position;
        if (left == 0)
        {
            return 0;
        }

        var handle = _handle ?? throw new ObjectDisposedException(nameof(FileBody));
        int n = await RandomAccess.ReadAsync(handle, buffer[..(int)Math.Min(buffer.Length, left)], Offset + _position, cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            throw ShrankException(Length, _position);
        }

        _position += n;
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

    /// <summary>What a path-based file response carries until it is written.</summary>
    internal sealed record FileSpec(string Path, long Offset, long Length);
}
