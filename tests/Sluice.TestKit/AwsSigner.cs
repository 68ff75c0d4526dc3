using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Sluice.TestKit;

/// <summary>AWS Signature Version 4 for raw JSON 1.1 requests (POST /) in tests that send what no SDK would, signing the
/// headers boto3 signs: content-type, host, x-amz-date and x-amz-target.</summary>
public sealed class AwsSigner(string accessKey, string secretKey, string region = "us-east-1", string service = "sagemaker")
{
    public const string JsonContentType = "application/x-amz-json-1.1";

    /// <summary>The test servers' key of the default account.</summary>
    public static AwsSigner Default { get; } = new(TestCredentials.AwsAccessKey, TestCredentials.AwsSecretKey);

    /// <summary>A request ready to send, signed for this moment.</summary>
    public HttpRequestMessage Sign(Uri endpoint, string target, string body)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var amzDate = TimeProvider.System.GetUtcNow().UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = amzDate[..8];
        var host = endpoint.IsDefaultPort ? endpoint.Host : $"{endpoint.Host}:{endpoint.Port}";
        var payloadHash = Hex(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
        const string signedHeaders = "content-type;host;x-amz-date;x-amz-target";
        var canonical = $"POST\n/\n\ncontent-type:{JsonContentType}\nhost:{host}\nx-amz-date:{amzDate}\nx-amz-target:{target}\n\n{signedHeaders}\n{payloadHash}";
        var scope = $"{date}/{region}/{service}/aws4_request";
        var toSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        var key = Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + secretKey), date), region), service), "aws4_request");
        var req = new HttpRequestMessage(HttpMethod.Post, new Uri(endpoint, "/")) { Content = new StringContent(body, Encoding.UTF8) };
        req.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(JsonContentType);
        req.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        req.Headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        req.Headers.TryAddWithoutValidation("Authorization",
            $"AWS4-HMAC-SHA256 Credential={accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={Hex(Hmac(key, toSign))}");
        return req;
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
