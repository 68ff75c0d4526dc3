using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sluice.Reliability.Tests.Fuzz;

/// <summary>Grammar-aware mutation of valid inputs: JSON trees are changed node by node (wrong types, edge numbers, hostile
/// and huge strings, deep nesting, dropped and unknown keys), JSON embedded in strings is mutated inside, YAML and forms
/// token by token; a share of the cases are broken at the byte level (truncated, flipped, random).</summary>
public sealed class Mutator(Random random)
{
    private static readonly string[] HostileStrings =
    [
        "", " ", "\t\n", "\0", "nul\0inside", "../../../../etc/passwd", "x'; DROP TABLE runs; --", "{{params.x}}", "{{steps.a.outputs.o}}",
        "${HOME}", "$(id)", "`id`", "%00", "%2e%2e%2f", "\u202e\u0000\ud7ff", "🙂🙂🙂", "arn:aws:sagemaker:us-east-1:000000000000:pipeline/x/execution/y",
        "projects/p/locations/l/pipelineJobs/j", "a:b:c", "::::", "null", "true", "-1", "1e999", "NaN", "Infinity", "0x10", "\\", "\"", "<xml>",
        "\ufeffbom", "a\r\nb", "https://169.254.169.254/latest/meta-data/", "file:///etc/shadow", "gs://", "s3://", "*", "%", "_", "Z",
    ];

    private static readonly string[] NumberTexts =
    [
        "0", "-0", "-1", "1", "2147483647", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "1e308", "-1e308", "1e-308", "0.5", "1.0000000000000002", "123456789012345678901234567890", "1E400",
    ];

    private readonly Random r = random;

    /// <summary>Deeply nested trees are the point: the writer's default depth limit (64) would refuse them.</summary>
    private static readonly JsonSerializerOptions Deeply = new() { MaxDepth = 100_000 };

    public static string Text(JsonNode node) => node.ToJsonString(Deeply);

    public Random Random => r;

    /// <summary>A mutated copy of a JSON document as text; <paramref name="mutations"/> changes are applied.</summary>
    public string MutateJson(JsonNode root, int mutations = 0)
    {
        var roll = r.Next(100);
        if (roll < 8)
        {
            return Truncate(Text(root));
        }
        if (roll < 12)
        {
            return ByteNoise(Text(root));
        }
        if (roll < 14)
        {
            return RandomText();
        }
        if (roll < 18)
        {
            return DuplicateKey(Text(root));
        }
        var copy = root.DeepClone();
        var n = mutations > 0 ? mutations : 1 + r.Next(3);
        for (var i = 0; i < n && (i == 0 || copy is null || Text(copy).Length < 1_000_000); i++)
        {
            // Once a document is large, further mutations only cost time: one oversize property is enough.
            copy = MutateTree(copy);
        }
        return copy is null ? "null" : Text(copy);
    }

    /// <summary>A mutated copy of a tree: one node somewhere in it is changed.</summary>
    public JsonNode? MutateTree(JsonNode? root)
    {
        var nodes = new List<(JsonNode? Parent, object Key, JsonNode? Node)>();
        Collect(null, "", root, nodes);
        var (parent, key, node) = nodes[r.Next(nodes.Count)];
        var replacement = MutateNode(node);
        if (replacement.Value?.Parent is not null)
        {
            replacement = replacement with { Value = replacement.Value.DeepClone() };
        }
        if (parent is null)
        {
            return replacement.Drop ? null : replacement.Value;
        }
        switch (parent, key)
        {
            case (JsonObject o, string k):
                if (replacement.Drop)
                {
                    o.Remove(k);
                }
                else if (replacement.Rename is { } rename)
                {
                    var v = o[k];
                    o.Remove(k);
                    o[rename] = v;
                }
                else
                {
                    o[k] = replacement.Value;
                }
                break;
            case (JsonArray a, int i):
                if (replacement.Drop)
                {
                    a.RemoveAt(i);
                }
                else
                {
                    a[i] = replacement.Value;
                }
                break;
        }
        return root;
    }

    private static void Collect(JsonNode? parent, object key, JsonNode? node, List<(JsonNode?, object, JsonNode?)> into)
    {
        into.Add((parent, key, node));
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o.ToList())
                {
                    Collect(o, k, v, into);
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    Collect(a, i, a[i], into);
                }
                break;
        }
    }

    private readonly record struct Change(JsonNode? Value, bool Drop = false, string? Rename = null);

    private Change MutateNode(JsonNode? node)
    {
        // A string that holds JSON (a SageMaker PipelineDefinition, a parameter value) is mutated inside as well.
        if (node is JsonValue sv && sv.TryGetValue<string>(out var s) && s.Length is > 1 and < 20_000 && s[0] is '{' or '[' && r.Next(2) == 0)
        {
            try
            {
                return new Change(JsonValue.Create(MutateJson(JsonNode.Parse(s)!)));
            }
            catch (JsonException)
            {
            }
        }
        switch (r.Next(12))
        {
            case 0:
                return new Change(null, Drop: true);
            case 1:
                return new Change(Weird());
            case 2:
                return new Change(node is JsonValue v && v.TryGetValue<string>(out var t) ? JsonValue.Create(MutateString(t)) : Weird());
            case 3:
                return node is JsonObject o ? new Change(WithUnknownKey(o)) : new Change(Weird());
            case 4:
                return node is JsonObject or JsonArray ? new Change(r.Next(2) == 0 ? new JsonObject() : new JsonArray()) : new Change(Weird());
            case 5:
                // Only a small node is wrapped: deep nesting of something already big would only make the fuzzer slow.
                return new Change(Deep(r.Next(2) == 0 ? 64 + r.Next(64) : 300 + r.Next(500), IsSmall(node) ? node?.DeepClone() : null));
            case 6:
                return node is JsonArray a ? new Change(Repeated(a)) : new Change(new JsonArray(node?.DeepClone(), node?.DeepClone()));
            case 7:
                return new Change(JsonValue.Create(new string((char)('a' + r.Next(26)), r.Next(4) == 0 ? 3_000_000 : 70_000 + r.Next(200_000))));
            case 8:
                return new Change(node, Rename: RenameKey());
            case 9:
                return new Change(JsonNode.Parse(NumberTexts[r.Next(NumberTexts.Length)]));
            case 10:
                return new Change(node switch
                {
                    JsonValue v2 when v2.TryGetValue<string>(out var t2) => JsonValue.Create(t2.Length > 0 && r.Next(2) == 0 ? t2 + t2 : t2.ToUpperInvariant()),
                    JsonValue v3 when v3.GetValueKind() == JsonValueKind.Number => JsonValue.Create(v3.ToJsonString() + "0"),
                    _ => Weird(),
                });
            default:
                return new Change(node is JsonValue v4 ? (JsonNode)new JsonArray(v4.DeepClone()) : JsonValue.Create(node is null ? "null" : Text(node)));
        }
    }

    private string RenameKey() => r.Next(3) switch
    {
        0 => "",
        1 => "x" + r.Next(1000).ToString(CultureInfo.InvariantCulture),
        _ => HostileStrings[r.Next(HostileStrings.Length)],
    };

    public JsonNode? Weird() => r.Next(8) switch
    {
        0 => null,
        1 => JsonValue.Create(r.Next(2) == 0),
        2 => JsonNode.Parse(NumberTexts[r.Next(NumberTexts.Length)]),
        3 => new JsonObject(),
        4 => new JsonArray(),
        5 => new JsonObject { [HostileStrings[r.Next(HostileStrings.Length)]] = HostileStrings[r.Next(HostileStrings.Length)] },
        _ => JsonValue.Create(HostileStrings[r.Next(HostileStrings.Length)]),
    };

    public string HostileString() => HostileStrings[r.Next(HostileStrings.Length)];

    public string MutateString(string s) => r.Next(7) switch
    {
        0 => "",
        1 => s.Length > 1 ? s[..r.Next(s.Length)] : s + "\0",
        2 => s + HostileString(),
        3 => HostileString() + s,
        4 => new string('x', 200 + r.Next(2000)),
        5 => s.Length > 0 ? s.Insert(r.Next(s.Length), HostileString()) : HostileString(),
        _ => HostileString(),
    };

    private JsonObject WithUnknownKey(JsonObject o)
    {
        var copy = (JsonObject)o.DeepClone();
        copy["unknown" + r.Next(100).ToString(CultureInfo.InvariantCulture)] = Weird();
        return copy;
    }

    private static bool IsSmall(JsonNode? node) => node is null || Text(node).Length < 2_000;

    private static JsonNode Deep(int depth, JsonNode? inner)
    {
        var node = inner ?? JsonValue.Create(1);
        for (var i = 0; i < depth; i++)
        {
            node = i % 2 == 0 ? new JsonArray(node) : new JsonObject { ["a"] = node };
        }
        return node;
    }

    private JsonArray Repeated(JsonArray a)
    {
        var copy = new JsonArray();
        var item = a.Count > 0 ? a[r.Next(a.Count)] : JsonValue.Create(1);
        var times = r.Next(3) == 0 && IsSmall(item) ? 2_000 + r.Next(5_000) : 2 + r.Next(3);
        for (var i = 0; i < times; i++)
        {
            copy.Add(item?.DeepClone());
        }
        return copy;
    }

    /// <summary>Cut the text somewhere (a truncated request body).</summary>
    public string Truncate(string text) => text.Length <= 1 ? "" : text[..r.Next(text.Length)];

    /// <summary>A few characters changed to structure characters, control characters or lone surrogates.</summary>
    public string ByteNoise(string text)
    {
        const string alphabet = "{}[]:,\"\\\0\u0001\n\t -'&*!|>#%@`\ud800\udfff";
        var chars = text.ToCharArray();
        if (chars.Length == 0)
        {
            return alphabet;
        }
        for (var k = 0; k < 1 + r.Next(6); k++)
        {
            chars[r.Next(chars.Length)] = alphabet[r.Next(alphabet.Length)];
        }
        return new string(chars);
    }

    public string RandomText()
    {
        var bytes = new byte[r.Next(0, 3000)];
        r.NextBytes(bytes);
        return r.Next(2) == 0 ? Encoding.UTF8.GetString(bytes) : Encoding.Latin1.GetString(bytes);
    }

    /// <summary>The first key of the object written twice with another value (System.Text.Json nodes cannot hold that).</summary>
    private string DuplicateKey(string json)
    {
        var i = json.IndexOf("\":", StringComparison.Ordinal);
        if (!json.StartsWith('{') || i < 0)
        {
            return json;
        }
        var key = json[1..(i + 1)];
        return "{" + key + ":" + (Weird()?.ToJsonString() ?? "null") + "," + json[1..];
    }

    /// <summary>A mutated copy of a YAML document, token by token and line by line.</summary>
    public string MutateYaml(string yaml)
    {
        var roll = r.Next(100);
        if (roll < 10)
        {
            return Truncate(yaml);
        }
        if (roll < 15)
        {
            return ByteNoise(yaml);
        }
        var lines = yaml.Split('\n').ToList();
        for (var n = 0; n < 1 + r.Next(3); n++)
        {
            var i = r.Next(lines.Count);
            var line = lines[i];
            switch (r.Next(11))
            {
                case 0:
                    lines.RemoveAt(i);
                    break;
                case 1:
                    lines.Insert(i, line);
                    break;
                case 2:
                    lines[i] = "  " + line;
                    break;
                case 3:
                    lines[i] = line.TrimStart();
                    break;
                case 4:
                {
                    var colon = line.IndexOf(": ", StringComparison.Ordinal);
                    lines[i] = colon > 0 ? line[..(colon + 2)] + YamlScalar() : line + " " + YamlScalar();
                    break;
                }
                case 5:
                    lines.Insert(i, "anchor: &a [x, *a]");
                    break;
                case 6:
                    lines[i] = line.Replace("- ", "- !!binary ", StringComparison.Ordinal);
                    break;
                case 7:
                {
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    lines[i] = colon > 0 ? line[..line.IndexOf(line.TrimStart(), StringComparison.Ordinal)] + HostileKey() + line[colon..] : line;
                    break;
                }
                case 8:
                    lines.Insert(i, new string(' ', r.Next(8)) + string.Concat(Enumerable.Repeat("[", 50 + r.Next(500))));
                    break;
                case 9:
                    lines[i] = line + " # " + new string('x', r.Next(4) == 0 ? 2_000_000 : 100);
                    break;
                default:
                    lines.Insert(i, "---");
                    break;
            }
        }
        return string.Join('\n', lines);
    }

    private string YamlScalar() => r.Next(8) switch
    {
        0 => "~",
        1 => "[]",
        2 => "{}",
        3 => "|",
        4 => NumberTexts[r.Next(NumberTexts.Length)],
        5 => "*undefined_alias",
        6 => "!!python/object:os.system x",
        _ => JsonSerializer.Serialize(HostileString()),
    };

    private string HostileKey() => JsonSerializer.Serialize(r.Next(2) == 0 ? HostileString() : "x" + r.Next(99).ToString(CultureInfo.InvariantCulture));

    /// <summary>A mutated copy of a form (SQS query protocol): parameters dropped, added, changed, or the encoding broken.</summary>
    public string MutateForm(IReadOnlyList<KeyValuePair<string, string>> form)
    {
        var list = form.ToList();
        var roll = r.Next(100);
        if (roll < 8)
        {
            return Truncate(Encode(list));
        }
        if (roll < 12)
        {
            return Encode(list) + "&%zz=%" + (r.Next(2) == 0 ? "" : "G1");
        }
        for (var n = 0; n < 1 + r.Next(3); n++)
        {
            var i = r.Next(list.Count);
            switch (r.Next(6))
            {
                case 0:
                    list.RemoveAt(i);
                    break;
                case 1:
                    list[i] = new(list[i].Key, MutateString(list[i].Value));
                    break;
                case 2:
                    list[i] = new(list[i].Key, NumberTexts[r.Next(NumberTexts.Length)]);
                    break;
                case 3:
                    list.Add(new(r.Next(2) == 0 ? list[i].Key : "Attribute.1.Name", HostileString()));
                    break;
                case 4:
                    list.Add(new("MessageAttribute." + r.Next(1, 12).ToString(CultureInfo.InvariantCulture) + ".Value.DataType", HostileString()));
                    break;
                default:
                    list[i] = new(HostileString(), list[i].Value);
                    break;
            }
            if (list.Count == 0)
            {
                break;
            }
        }
        return Encode(list);
    }

    private static string Encode(IEnumerable<KeyValuePair<string, string>> form) =>
        string.Join('&', form.Select(kv => Uri.EscapeDataString(kv.Key) + "=" + Uri.EscapeDataString(kv.Value)));
}
