namespace Hyperion.Http2.Hpack;

/// <summary>Which literal fields the encoder adds to its dynamic table.</summary>
internal enum HpackIndexing
{
    /// <summary>
    /// Fields that tend to repeat across responses (content-type, server, cache-control, date, …); not those whose
    /// value is usually unique (content-length, etag, location, set-cookie, …) nor entries too big for the table.
    /// </summary>
    Default,

    /// <summary>Every literal field that is not never-indexed (the choice made in RFC 7541 Appendix C).</summary>
    All,

    /// <summary>No field; the dynamic table stays empty.</summary>
    None,
}
