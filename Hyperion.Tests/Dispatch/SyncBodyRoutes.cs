using System.Text;
using System.Text.Json;
using Hyperion;

namespace Hyperion.Tests.Dispatch;

/// <summary>The case: a synchronous route that parses a JSON body straight from rack.input.</summary>
internal static class SyncBodyRoutes
{
    /// <summary>About 540 KB of JSON: far more than one receive, so it is still arriving when the route is dispatched.</summary>
    public static readonly string LargeJson = BuildLargeJson();

    public static readonly string LargeJsonCount = "12000";

    /// <summary>Parses the body with synchronous reads (JsonDocument.Parse(Stream)) and answers the array's length.</summary>
    public static RackResponse CountItems(RackEnv env)
    {
        using var doc = JsonDocument.Parse(env.Body);
        return RackResponse.Text(200, doc.RootElement.GetArrayLength().ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static string BuildLargeJson()
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < 12000; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append("{\"id\":").Append(i).Append(",\"title\":\"buy milk and bread and eggs\"}");
        }

        return sb.Append(']').ToString();
    }
}
