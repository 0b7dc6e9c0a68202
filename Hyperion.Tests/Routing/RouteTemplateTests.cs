using System.Net;
using Hyperion;

namespace Hyperion.Tests.Routing;

/// <summary>
/// Route templates after Go 1.22's ServeMux: syntax, precedence, conflicts refused at registration, and the
/// captured values. Matching runs through the in-process client (the real HTTP/1.1 code); the transports and
/// HTTP/2 are covered by <see cref="RouteTemplateTransportTests"/>.
/// </summary>
public class RouteTemplateTests
{
    /// <summary>A server whose every route answers with its own pattern and its captured values.</summary>
    private static HyperionServer Server(params string[] patterns)
    {
        var server = new HyperionServer();
        foreach (var p in patterns)
        {
            server.Handle("GET", p, env => RackResponse.Text(200, Describe(p, env)));
        }

        return server;
    }

    private static string Describe(string pattern, RackEnv env)
        => pattern + (env.RouteValues.Count == 0 ? string.Empty : " " + string.Join(" ", env.RouteValues.Select(kv => $"{kv.Key}=[{kv.Value}]")));

    public static TheoryData<string[], string, string?> Precedence => new()
    {
        // patterns, request path, expected "pattern values" (null: 404)
        { ["/todos/{id}"], "/todos/42", "/todos/{id} id=[42]" },
        { ["/todos/{id}"], "/todos/", null },                       // {id} never matches an empty segment
        { ["/todos/{id}"], "/todos", null },
        { ["/todos/{id}"], "/todos/42/more", null },
        { ["/todos/{id}", "/todos/special"], "/todos/special", "/todos/special" },   // exact path first
        { ["/todos/{id}", "/todos/special"], "/todos/other", "/todos/{id} id=[other]" },
        { ["/a/{x}/c", "/a/{rest...}"], "/a/b/c", "/a/{x}/c x=[b]" },                  // the strict subset wins
        { ["/a/{x}/c", "/a/{rest...}"], "/a/b/d", "/a/{rest...} rest=[b/d]" },         // backtracks to the rest wildcard
        { ["/files/{rest...}", "/files/special"], "/files/special", "/files/special" },
        { ["/files/{rest...}", "/files/special"], "/files/a/b/c.txt", "/files/{rest...} rest=[a/b/c.txt]" },
        { ["/files/{rest...}"], "/files/", "/files/{rest...} rest=[]" },             // the rest may be empty
        { ["/files/{rest...}"], "/files", null },                                    // but the '/' before it is required
        { ["/files/{rest...}"], "/files//x", "/files/{rest...} rest=[/x]" },
        { ["/{a}/x", "/y/{b}/z"], "/y/x", "/{a}/x a=[y]" },                           // different lengths: disjoint
        { ["/dir/"], "/dir/", "/dir/" },                                              // a trailing slash is literal
        { ["/dir/"], "/dir/a", null },
        { ["/a/{x}/"], "/a/5/", "/a/{x}/ x=[5]" },                                    // so is one after a wildcard
        { ["/a/{x}/"], "/a/5", null },
        { ["/a/{x}/", "/a/{x}/{y}"], "/a/5/6", "/a/{x}/{y} x=[5] y=[6]" },             // "" and {y} share no path
        { ["/u/{name}"], "/u/a%20b", "/u/{name} name=[a b]" },                       // percent-decoded
        { ["/u/{name}"], "/u/caf%C3%A9", "/u/{name} name=[café]" },                  // as UTF-8
        { ["/u/{name}"], "/u/a%2Fb", "/u/{name} name=[a/b]" },                       // %2F decodes but does not split
        { ["/u/{name}", "/u/a/b"], "/u/a%2Fb", "/u/{name} name=[a/b]" },
        { ["/u/{name}"], "/u/100%", "/u/{name} name=[100%]" },                       // a stray '%' is kept
        { ["/u/caf%C3%A9"], "/u/caf%C3%A9", "/u/caf%C3%A9" },                        // literals match as received
        { ["/u/{name}/{rest...}"], "/u/n/x/%2F/y", "/u/{name}/{rest...} name=[n] rest=[x///y]" },
        { ["/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}"], "/1/2/3/4/5/6/7/8/9", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i} a=[1] b=[2] c=[3] d=[4] e=[5] f=[6] g=[7] h=[8] i=[9]" },
    };

    [Theory]
    [MemberData(nameof(Precedence))]
    public async Task The_most_specific_pattern_answers(string[] patterns, string path, string? expected)
    {
        await using var server = Server(patterns);
        using var client = server.CreateClient();
        using var response = await client.GetAsync(path);
        if (expected is null)
        {
            response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        }
        else
        {
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            (await response.Content.ReadAsStringAsync()).Should().Be(expected);
        }
    }

    public static TheoryData<string, string, string, string> Conflicts => new()
    {
        // first, second, a path both match, what the message says
        { "/{a}/x", "/x/{b}", "/x/x", "'/x/x'" },
        { "/todos/{id}", "/todos/{name}", "/todos/1", "same paths" },
        { "/a/{x}", "/{y}/b", "/a/b", "'/a/b'" },
        { "/a/{rest...}", "/{x}/b/c", "/a/b/c", "'/a/b/c'" },
        { "/files/{a...}", "/files/{b...}", "/files/f", "same paths" },
    };

    [Theory]
    [MemberData(nameof(Conflicts))]
    public async Task Conflicting_patterns_are_refused_at_registration_naming_both(string first, string second, string both, string detail)
    {
        await using var server = new HyperionServer();
        server.Handle("GET", first, env => RackResponse.Text(200, "first"));
        var register = () => server.Handle("GET", second, env => RackResponse.Text(200, "second"));
        register.Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain($"'GET {second}' conflicts with 'GET {first}'").And.Contain(detail);

        // The refused route changed nothing; the same pattern for another method does not conflict.
        server.Handle("POST", second, env => RackResponse.Text(200, "second"));
        using var client = server.CreateClient();
        (await client.GetStringAsync(both)).Should().Be("first");
        using var post = await client.PostAsync(both, null);
        (await post.Content.ReadAsStringAsync()).Should().Be("second");
    }

    [Theory]
    [InlineData("/todos/{id}")]
    [InlineData("/todos")]
    public async Task The_same_method_and_path_registered_twice_throws(string path)
    {
        await using var server = new HyperionServer();
        server.Handle("GET", path, env => RackResponse.Text(200, "first"));
        var again = () => server.Handle("GET", path, env => RackResponse.Text(200, "second"));
        again.Should().Throw<ArgumentException>().WithMessage($"The route 'GET {path}' is already registered.*");
        var asStatic = () => server.HandleStatic("GET", "/todos", "static");
        if (path == "/todos")
        {
            asStatic.Should().Throw<ArgumentException>("a static route is a route like any other");
        }

        using var client = server.CreateClient();
        (await client.GetStringAsync(path.Replace("{id}", "1"))).Should().Be("first");
    }

    [Theory]
    [InlineData("/a/b_{x}", "whole segment")]
    [InlineData("/a/{x", "whole segment")]
    [InlineData("/a/x}", "whole segment")]
    [InlineData("/a/{}", "whole segment")]
    [InlineData("/a/{1x}", "not a valid wildcard name")]
    [InlineData("/a/{x-y}", "not a valid wildcard name")]
    [InlineData("/a/{rest...}/b", "must be the last segment")]
    [InlineData("/a/{x}/{x}", "appears twice")]
    public void Malformed_templates_are_refused(string path, string reason)
    {
        var server = new HyperionServer();
        var register = () => server.Handle("GET", path, env => RackResponse.Text(200, "x"));
        register.Should().Throw<ArgumentException>().Which.Message.Should().Contain(path).And.Contain(reason);
    }

    [Fact]
    public void A_template_in_HandleStatic_is_refused()
    {
        var server = new HyperionServer();
        var register = () => server.HandleStatic("GET", "/todos/{id}", "x");
        register.Should().Throw<ArgumentException>().Which.Message.Should().Contain("'/todos/{id}' is a route template").And.Contain("Handle");
    }

    [Fact]
    public async Task Typed_readers_parse_int_long_and_guid_and_report_bad_values()
    {
        await using var server = new HyperionServer();
        server.Handle("GET", "/n/{v}", env =>
        {
            var rv = env.RouteValues;
            string int32 = rv.TryGetInt32("v", out int i) ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-";
            string int64 = rv.TryGetInt64("v", out long l) ? l.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-";
            string guid = rv.TryGetGuid("v", out var g) ? g.ToString() : "-";
            return RackResponse.Text(200, $"{int32} {int64} {guid} {rv.TryGetInt32("nope", out _)} {rv.ContainsKey("v")}");
        });
        server.Handle("GET", "/strict/{v}", env => RackResponse.Text(200, env.RouteValues.GetInt32("v").ToString(System.Globalization.CultureInfo.InvariantCulture)));
        server.Handle("GET", "/missing/{v}", env => RackResponse.Text(200, env.RouteValues["other"]));
        using var client = server.CreateClient();
        (await client.GetStringAsync("/n/42")).Should().Be("42 42 - False True");
        (await client.GetStringAsync("/n/-7")).Should().Be("-7 -7 - False True");
        (await client.GetStringAsync("/n/%34%32")).Should().Be("42 42 - False True", "typed readers see the decoded value");
        (await client.GetStringAsync("/n/9000000000")).Should().Be("- 9000000000 - False True");
        (await client.GetStringAsync("/n/abc")).Should().Be("- - - False True");
        (await client.GetStringAsync("/n/+1%20")).Should().Be("- - - False True", "no whitespace");
        (await client.GetStringAsync("/n/0f8fad5b-d9cb-469f-a165-70867728950e")).Should().Be("- - 0f8fad5b-d9cb-469f-a165-70867728950e False True");
        (await client.GetStringAsync("/strict/12")).Should().Be("12");
        (await client.GetAsync("/strict/x")).StatusCode.Should().Be(HttpStatusCode.InternalServerError, "GetInt32 throws FormatException on a bad value");
        (await client.GetAsync("/missing/x")).StatusCode.Should().Be(HttpStatusCode.InternalServerError, "a missing name throws KeyNotFoundException");
    }

    [Fact]
    public async Task Route_values_are_empty_for_exact_paths_and_the_app_and_reset_between_requests()
    {
        await using var server = new HyperionServer();
        server.Handle("GET", "/t/{id}", env => RackResponse.Text(200, env.RouteValues["id"]));
        server.Handle("GET", "/exact", env => RackResponse.Text(200, env.RouteValues.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        server.Run(env => ValueTask.FromResult(RackResponse.Text(200, "app " + env.RouteValues.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        var seenAtStart = new List<int>();
        server.OnRequestStart(env => seenAtStart.Add(env.RouteValues.Count));   // before routing: a reused env must be clean
        using var client = server.CreateClient();
        for (int i = 0; i < 3; i++)
        {
            (await client.GetStringAsync($"/t/{i}")).Should().Be(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            (await client.GetStringAsync("/exact")).Should().Be("0");
            (await client.GetStringAsync("/elsewhere")).Should().Be("app 0");
        }

        seenAtStart.Should().HaveCount(9).And.OnlyContain(n => n == 0);
    }
}
