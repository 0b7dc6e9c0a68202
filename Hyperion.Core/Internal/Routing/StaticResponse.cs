using System.Text;
using Hyperion.Internal.Http;

namespace Hyperion.Internal.Routing;

/// <summary>
/// A response built once at registration: everything up to the Date value, then the body.
/// Serving it is a few span copies with the cached Date spliced in.
/// </summary>
internal sealed class StaticResponse
{
    public StaticResponse(int status, string contentType, ReadOnlyMemory<byte> body, IEnumerable<(string Name, string Value)>? headers, string? serverHeader)
    {
        var sb = new StringBuilder();
        sb.Append(Encoding.ASCII.GetString(StatusLines.Get(status)));
        if (!HeaderValidation.IsValidValue(contentType))
        {
            throw new ArgumentException("The content type contains characters not allowed in a header value.", nameof(contentType));
        }

        var headerList = new List<(string Name, string Value)>();
        if (!StatusLines.ForbidsBody(status))
        {
            sb.Append("Content-Type: ").Append(contentType).Append("\r\n");
            sb.Append("Content-Length: ").Append(body.Length).Append("\r\n");
        }

        foreach (var (name, value) in headers ?? [])
        {
            if (!HeaderValidation.IsValidName(name) || !HeaderValidation.IsValidValue(value))
            {
                throw new ArgumentException($"Header '{name}' has an invalid name or value (CR, LF and controls are refused).", nameof(headers));
            }

            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) ||
                name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) ||
                name.Equals("Connection", StringComparison.OrdinalIgnoreCase) ||
                name.Equals("Date", StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"Header '{name}' is set by the server for static routes.", nameof(headers));
            }

            headerList.Add((name, value));
            sb.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        if (serverHeader is not null)
        {
            sb.Append("Server: ").Append(serverHeader).Append("\r\n");
        }

        sb.Append("Date: ");
        Prefix = Encoding.Latin1.GetBytes(sb.ToString());
        Body = StatusLines.ForbidsBody(status) ? ReadOnlyMemory<byte>.Empty : body;
        Response = new RackResponse(status, headerList, Body).WithContentType(contentType);
    }

    /// <summary>Status line and headers through "Date: ".</summary>
    public byte[] Prefix { get; }

    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The same response as a value, for lifecycle hooks.</summary>
    public RackResponse Response { get; }

    /// <summary>Set once by HTTP/2: this response's header block (all but Date), encoded without the dynamic table.</summary>
    public byte[]? Http2HeaderBlock { get; set; }
}
