namespace Hyperion;

/// <summary>The shape of a <see cref="RackResponse"/> body.</summary>
public enum ResponseBodyKind
{
    /// <summary>Bytes known up front.</summary>
    Bytes = 0,

    /// <summary>A string, sent as UTF-8.</summary>
    Text = 1,

    /// <summary>A synchronous sequence of chunks.</summary>
    Chunks = 2,

    /// <summary>An asynchronous sequence of chunks.</summary>
    AsyncChunks = 3,

    /// <summary>A file on disk.</summary>
    File = 4,

    /// <summary>A callback that writes the body.</summary>
    Streaming = 5,

    /// <summary>
    /// A value serialized as JSON when the response is written (<see cref="RackResponse.Json{T}"/>); its length is
    /// known only then. <see cref="RackResponse.BufferBodyAsync"/> turns it into <see cref="Bytes"/>.
    /// </summary>
    Json = 6,
}
