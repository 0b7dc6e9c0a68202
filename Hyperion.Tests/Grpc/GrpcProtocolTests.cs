using Hyperion.Grpc.Internal;

namespace Hyperion.Tests.Grpc;

/// <summary>The wire rules of PROTOCOL-HTTP2.md the server parses and writes, one table each.</summary>
public class GrpcProtocolTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("7u", 70L)]
    [InlineData("100n", 1L)]
    [InlineData("1n", 1L)]
    [InlineData("0S", 0L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    public void Every_timeout_unit_parses(string value, long ticks)
    {
        GrpcProtocol.TryParseTimeout(value, out var timeout).Should().BeTrue();
        timeout.Ticks.Should().Be(ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("10x")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    [InlineData(" 1S")]
    [InlineData("123456789S")]
    public void A_timeout_that_breaks_the_grammar_is_refused(string value)
        => GrpcProtocol.TryParseTimeout(value, out _).Should().BeFalse();

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("50% off", "50%25 off")]
    [InlineData("ünï", "%C3%BCn%C3%AF")]
    [InlineData("line\nbreak", "line%0Abreak")]
    public void Grpc_message_is_percent_encoded_utf8(string message, string wire)
        => GrpcProtocol.PercentEncode(message).Should().Be(wire);

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc+json", true)]
    [InlineData("Application/GRPC", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("application/grpcx", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void Grpc_content_types_are_recognised(string? contentType, bool expected)
        => GrpcProtocol.IsGrpcContentType(contentType).Should().Be(expected);

    [Theory]
    [InlineData("AQIDBA==")]
    [InlineData("AQIDBA")]
    public void Binary_header_values_are_decoded_padded_or_not(string value)
        => GrpcProtocol.DecodeBinary(value).Should().Equal(1, 2, 3, 4);

    [Fact]
    public void A_binary_header_value_that_is_not_base64_is_refused()
        => GrpcProtocol.DecodeBinary("A!!").Should().BeNull();

    [Theory]
    [InlineData("127.0.0.1", 5000, "ipv4:127.0.0.1:5000")]
    [InlineData("::1", 443, "ipv6:[::1]:443")]
    [InlineData("::ffff:10.1.2.3", 80, "ipv4:10.1.2.3:80")]
    public void The_peer_is_written_as_grpc_writes_it(string address, int port, string expected)
        => GrpcServerCall.FormatPeer(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(address), port)).Should().Be(expected);
}
