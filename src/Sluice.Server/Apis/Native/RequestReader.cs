using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Api;

namespace Sluice.Server.Apis.Native;

/// <summary>Reads a JSON request body field by field, collecting every problem (wrong type, unknown field, too long).</summary>
internal sealed class RequestReader
{
    public const int MaxBodyBytes = 1024 * 1024;

    private readonly JsonObject body;
    private readonly List<Problem> problems = [];
    private readonly HashSet<string> known = new(StringComparer.Ordinal);

    private RequestReader(JsonObject body) => this.body = body;

    /// <summary>Reads the body as a JSON object; an empty body is an empty object.</summary>
    public static async Task<RequestReader> ReadAsync(HttpRequest request, CancellationToken ct, bool emptyIsObject = false)
    {
        var text = await ReadTextAsync(request, MaxBodyBytes, ct);
        if (string.IsNullOrWhiteSpace(text) && emptyIsObject)
        {
            return new RequestReader([]);
        }
        if (request.ContentType is { } ct2 && !ct2.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            throw SluiceException.Invalid("the body must be JSON (Content-Type: application/json)");
        }
        return Parse(text) is JsonObject o ? new RequestReader(o) : throw SluiceException.Invalid("the body must be a JSON object");
    }

    public static JsonNode? Parse(string text)
    {
        try
        {
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw SluiceException.Invalid($"malformed JSON: {e.Message}");
        }
    }

    /// <summary>Reads the whole body as UTF-8 text, refusing more than <paramref name="max"/> bytes.</summary>
    public static async Task<string> ReadTextAsync(HttpRequest request, int max, CancellationToken ct)
    {
        if (request.ContentLength > max)
        {
            throw new SluiceException(ErrorKind.ResourceExhausted, $"the body is larger than {max} bytes");
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + n > max)
            {
                throw new SluiceException(ErrorKind.ResourceExhausted, $"the body is larger than {max} bytes");
            }
            buffer.Write(chunk, 0, n);
        }
        try
        {
            return new System.Text.UTF8Encoding(false, true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw SluiceException.Invalid("the body is not valid UTF-8");
        }
    }

    public string? String(string name, int maxLength = 1024)
    {
        known.Add(name);
        var n = body[name];
        if (n is null)
        {
            return null;
        }
        if (n is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            var s = v.GetValue<string>();
            if (s.Length > maxLength)
            {
                problems.Add(new Problem(name, $"at most {maxLength} characters"));
            }
            return s;
        }
        problems.Add(new Problem(name, "must be a string"));
        return null;
    }

    public double? Number(string name, double min, double max)
    {
        known.Add(name);
        var n = body[name];
        if (n is null)
        {
            return null;
        }
        if (n is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d))
        {
            if (d < min || d > max || !double.IsFinite(d))
            {
                problems.Add(new Problem(name, $"must be between {min} and {max}"));
                return null;
            }
            return d;
        }
        problems.Add(new Problem(name, "must be a number"));
        return null;
    }

    public JsonObject? Object(string name)
    {
        known.Add(name);
        var n = body[name];
        if (n is null or JsonObject)
        {
            return (JsonObject?)n;
        }
        problems.Add(new Problem(name, "must be an object"));
        return null;
    }

    public Dictionary<string, string>? StringMap(string name)
    {
        var o = Object(name);
        if (o is null)
        {
            return null;
        }
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in o)
        {
            if (v is JsonValue jv && jv.GetValueKind() == JsonValueKind.String)
            {
                map[k] = jv.GetValue<string>();
            }
            else
            {
                problems.Add(new Problem($"{name}.{Validation.Show(k)}", "must be a string"));
            }
        }
        return map;
    }

    public List<string>? StringList(string name, int maxItems)
    {
        known.Add(name);
        var n = body[name];
        if (n is null)
        {
            return null;
        }
        if (n is not JsonArray a)
        {
            problems.Add(new Problem(name, "must be an array of strings"));
            return null;
        }
        if (a.Count > maxItems)
        {
            problems.Add(new Problem(name, $"at most {maxItems} items"));
            return null;
        }
        var list = new List<string>(a.Count);
        for (var i = 0; i < a.Count; i++)
        {
            if (a[i] is JsonValue v && v.GetValueKind() == JsonValueKind.String)
            {
                list.Add(v.GetValue<string>());
            }
            else
            {
                problems.Add(new Problem($"{name}[{i}]", "must be a string"));
            }
        }
        return list;
    }

    public void Problem(string path, string message) => problems.Add(new Problem(path, message));

    /// <summary>Throws with every problem found, unknown fields included.</summary>
    public void Done()
    {
        foreach (var (k, _) in body)
        {
            if (!known.Contains(k))
            {
                problems.Add(new Problem(Validation.Show(k), "unknown field"));
            }
        }
        if (problems.Count > 0)
        {
            throw new SluiceException(ErrorKind.InvalidArgument, string.Join("; ", problems), problems);
        }
    }
}
