using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Sluice.Core.Domain;

namespace Sluice.Server.Auth;

/// <summary>An authentication failure, with the AWS error code clients understand.</summary>
public sealed class AwsAuthException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>Verifies AWS Signature Version 4 on a buffered request, exactly as botocore and the JS SDK sign it: generic over
/// the headers each request says it signed, payload hash of the exact body, any region, a 5-minute clock skew.</summary>
public static class SigV4
{
    private const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>The parts of an Authorization header.</summary>
    public sealed record Authorization(string AccessKeyId, string Date, string Region, string Service, IReadOnlyList<string> SignedHeaders,
        string Signature);

    /// <summary>Authenticates the request for <paramref name="service"/> (sagemaker, sqs) and names its caller.</summary>
    public static AwsCaller Authenticate(HttpRequest request, byte[] body, string service, AwsAuthOptions options, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(options);
        var header = request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            if (options.Mode == AwsAuthMode.Dev)
            {
                var account = options.DefaultAccount;
                return new AwsCaller("anonymous", account, AwsAuthOptions.DefaultRegion, service,
                    new Scope(options.TenantOf(account), AwsAuthOptions.DefaultRegion));
            }
            throw new AwsAuthException("MissingAuthenticationTokenException", "Missing Authentication Token");
        }
        var auth = Parse(header);
        if (!string.Equals(auth.Service, service, StringComparison.Ordinal))
        {
            throw new AwsAuthException("InvalidSignatureException", $"Credential should be scoped to correct service: '{service}'.");
        }
        if (!IsRegion(auth.Region))
        {
            throw new AwsAuthException("IncompleteSignature", $"The region '{auth.Region}' in the credential scope is not valid.");
        }
        if (options.Mode == AwsAuthMode.Dev)
        {
            var account = options.DefaultAccount;
            return new AwsCaller(auth.AccessKeyId, account, auth.Region, service, new Scope(options.TenantOf(account), auth.Region));
        }
        if (!options.Keys.TryGetValue(auth.AccessKeyId, out var key))
        {
            throw new AwsAuthException("UnrecognizedClientException", "The security token included in the request is invalid.");
        }
        Verify(request, body, auth, key.Secret, now);
        return new AwsCaller(auth.AccessKeyId, key.Account, auth.Region, service, new Scope(options.TenantOf(key.Account), auth.Region));
    }

    public static Authorization Parse(string header)
    {
        if (!header.StartsWith(Algorithm + " ", StringComparison.Ordinal))
        {
            throw new AwsAuthException("IncompleteSignature", $"Authorization header requires the {Algorithm} algorithm.");
        }
        string? credential = null, signed = null, signature = null;
        foreach (var part in header[(Algorithm.Length + 1)..].Split(','))
        {
            var kv = part.Trim();
            var eq = kv.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }
            var value = kv[(eq + 1)..].Trim();
            switch (kv[..eq])
            {
                case "Credential":
                    credential = value;
                    break;
                case "SignedHeaders":
                    signed = value;
                    break;
                case "Signature":
                    signature = value;
                    break;
            }
        }
        if (credential is null || signed is null || signature is null)
        {
            throw new AwsAuthException("IncompleteSignature",
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.");
        }
        var scope = credential.Split('/');
        if (scope.Length != 5 || scope[4] != "aws4_request" || scope[1].Length != 8 || !scope[1].All(char.IsAsciiDigit) || scope[0].Length == 0)
        {
            throw new AwsAuthException("IncompleteSignature",
                "Credential must have the form ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request.");
        }
        if (signature.Length != 64 || !signature.All(char.IsAsciiHexDigitLower))
        {
            throw new AwsAuthException("IncompleteSignature", "Signature must be 64 lowercase hexadecimal digits.");
        }
        var headers = signed.Split(';');
        if (headers.Any(h => h.Length == 0 || h.Any(char.IsAsciiLetterUpper)))
        {
            throw new AwsAuthException("IncompleteSignature", "SignedHeaders must be lowercase header names separated by ';'.");
        }
        return new Authorization(scope[0], scope[1], scope[2], scope[3], headers, signature);
    }

    private static void Verify(HttpRequest request, byte[] body, Authorization auth, string secret, DateTimeOffset now)
    {
        if (!auth.SignedHeaders.Contains("host") || !(auth.SignedHeaders.Contains("x-amz-date") || auth.SignedHeaders.Contains("date")))
        {
            throw new AwsAuthException("IncompleteSignature", "The host and x-amz-date headers must be signed.");
        }
        if (request.Headers.ContainsKey("x-amz-security-token") && !auth.SignedHeaders.Contains("x-amz-security-token"))
        {
            throw new AwsAuthException("IncompleteSignature", "The x-amz-security-token header must be signed.");
        }
        var amzDate = request.Headers["x-amz-date"].ToString();
        if (!DateTimeOffset.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var signedAt))
        {
            throw new AwsAuthException("IncompleteSignature", "The request must carry X-Amz-Date as YYYYMMDD'T'HHMMSS'Z'.");
        }
        if (!amzDate.StartsWith(auth.Date, StringComparison.Ordinal))
        {
            throw new AwsAuthException("InvalidSignatureException", "The date of the credential scope does not match X-Amz-Date.");
        }
        if ((signedAt - now).Duration() > AwsAuthOptions.MaxSkew)
        {
            var text = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            var bound = (signedAt < now ? now - AwsAuthOptions.MaxSkew : now + AwsAuthOptions.MaxSkew).UtcDateTime
                .ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            throw new AwsAuthException("InvalidSignatureException", signedAt < now
                ? $"Signature expired: {amzDate} is now earlier than {bound} ({text} - 5 min.)"
                : $"Signature not yet current: {amzDate} is still later than {bound} ({text} + 5 min.)");
        }
        var bodyHash = Convert.ToHexStringLower(SHA256.HashData(body));
        var payloadHash = request.Headers["x-amz-content-sha256"].ToString();
        if (payloadHash.Length == 0)
        {
            payloadHash = bodyHash;
        }
        else if (payloadHash != bodyHash && payloadHash != "UNSIGNED-PAYLOAD")
        {
            throw new AwsAuthException("InvalidSignatureException", "The provided x-amz-content-sha256 header does not match what was computed.");
        }
        var canonical = CanonicalRequest(request, auth.SignedHeaders, payloadHash);
        var scope = $"{auth.Date}/{auth.Region}/{auth.Service}/aws4_request";
        var toSign = $"{Algorithm}\n{amzDate}\n{scope}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        var key = SigningKey(secret, auth.Date, auth.Region, auth.Service);
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(toSign)));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(auth.Signature)))
        {
            throw new AwsAuthException("InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
        }
    }

    public static byte[] SigningKey(string secret, string date, string region, string service)
    {
        var k = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secret), Encoding.UTF8.GetBytes(date));
        k = HMACSHA256.HashData(k, Encoding.UTF8.GetBytes(region));
        k = HMACSHA256.HashData(k, Encoding.UTF8.GetBytes(service));
        return HMACSHA256.HashData(k, "aws4_request"u8.ToArray());
    }

    /// <summary>The canonical request from the raw target as received (the path as the client encoded it).</summary>
    public static string CanonicalRequest(HttpRequest request, IReadOnlyList<string> signedHeaders, string payloadHash)
    {
        var raw = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } target
            ? target
            : (request.PathBase + request.Path + request.QueryString).ToString();
        var q = raw.IndexOf('?', StringComparison.Ordinal);
        var path = q >= 0 ? raw[..q] : raw;
        var query = q >= 0 ? raw[(q + 1)..] : "";
        var sb = new StringBuilder();
        sb.Append(request.Method).Append('\n');
        sb.Append(path.Length == 0 ? "/" : Encode(path, keepSlash: true)).Append('\n');
        sb.Append(CanonicalQuery(query)).Append('\n');
        foreach (var h in signedHeaders)
        {
            var values = request.Headers[h].Select(v => CollapseSpaces((v ?? "").Trim()));
            sb.Append(h).Append(':').Append(string.Join(',', values)).Append('\n');
        }
        sb.Append('\n').Append(string.Join(';', signedHeaders)).Append('\n').Append(payloadHash);
        return sb.ToString();
    }

    private static string CanonicalQuery(string query)
    {
        if (query.Length == 0)
        {
            return "";
        }
        var pairs = query.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(p =>
        {
            var eq = p.IndexOf('=', StringComparison.Ordinal);
            var k = Uri.UnescapeDataString((eq >= 0 ? p[..eq] : p).Replace('+', ' '));
            var v = eq >= 0 ? Uri.UnescapeDataString(p[(eq + 1)..].Replace('+', ' ')) : "";
            return (K: Encode(k, false), V: Encode(v, false));
        }).OrderBy(p => p.K, StringComparer.Ordinal).ThenBy(p => p.V, StringComparer.Ordinal);
        return string.Join('&', pairs.Select(p => p.K + "=" + p.V));
    }

    /// <summary>RFC 3986 percent-encoding of everything but unreserved characters (and '/' in a path).</summary>
    public static string Encode(string s, bool keepSlash)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' || (keepSlash && c == '/'))
            {
                sb.Append(c);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return sb.ToString();
    }

    private static string CollapseSpaces(string s)
    {
        var sb = new StringBuilder(s.Length);
        var space = false;
        foreach (var c in s)
        {
            if (c == ' ')
            {
                if (!space)
                {
                    sb.Append(c);
                }
                space = true;
            }
            else
            {
                sb.Append(c);
                space = false;
            }
        }
        return sb.ToString();
    }

    private static bool IsRegion(string r) => r.Length is >= 1 and <= 64 && r.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');
}
