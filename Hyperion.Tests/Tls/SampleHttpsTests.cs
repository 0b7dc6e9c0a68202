using System.Net;
using Hyperion.Tests.Infrastructure;

namespace Hyperion.Tests.Tls;

/// <summary>The samples' <c>--tls-cert</c>/<c>--tls-key</c> flags: the same routes over HTTPS on <c>--port</c>.</summary>
public class SampleHttpsTests
{
    private static Task<SampleProcess> StartAsync(string name)
        => SampleProcess.StartAsync(name, "--tls-cert", TestCertificate.CertificatePemPath, "--tls-key", TestCertificate.KeyPemPath);

    [Fact]
    public async Task Hello_serves_https_with_pem_flags()
    {
        await using var sample = await StartAsync("Hello");
        sample.BaseAddress.Scheme.Should().Be("https");
        using var client = TestCertificate.CreateHttpClient(sample.BaseAddress);

        foreach (var path in new[] { "/static", "/dynamic", "/legacy", "/app" })
        {
            (await client.GetStringAsync(path)).Should().Be("Hello, World!", path);
        }

        (await sample.StopAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Echo_serves_https_with_pem_flags()
    {
        await using var sample = await StartAsync("Echo");
        sample.BaseAddress.Scheme.Should().Be("https");
        using var client = TestCertificate.CreateHttpClient(sample.BaseAddress);
        var payload = new byte[100_000];
        new Random(11).NextBytes(payload);

        using var post = await client.PostAsync("/", new ByteArrayContent(payload));

        post.StatusCode.Should().Be(HttpStatusCode.OK);
        (await post.Content.ReadAsByteArrayAsync()).Should().Equal(payload);
        (await sample.StopAsync()).Should().Be(0);
    }
}
