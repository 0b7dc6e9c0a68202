namespace Hyperion;

/// <summary>
/// The Rack-like application: called for every request the route table does not match.
/// The <paramref name="env"/> is pooled: it is valid until the returned task completes and must not be kept after.
/// </summary>
public delegate ValueTask<RackResponse> RackApp(RackEnv env);
