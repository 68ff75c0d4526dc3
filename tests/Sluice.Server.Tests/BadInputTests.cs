using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Server.Tests;

/// <summary>
/// Bad input to every endpoint of the native API (malformed JSON, wrong types, unknown ids, oversize bodies and fields,
/// hostile strings) gets a clear 4xx problem and changes nothing. Each table row is one request; before and after it the
/// whole state of the server (pipelines with their versions, runs with their steps and history, operations, the files of
/// the data directory) is snapshotted and compared. The tests of this class run one after another on one server, which
/// holds a seeded pipeline, a finished run and a finished operation so that bad requests against real ids are covered.
/// </summary>
public class BadInputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly ConditionalWeakTable<ServerFixture, Task<Seed>> Seeds = new();

    private ServerProcess S => fixture.Server;

    // ---- the tables ----

    public static TheoryData<string> CreatePipelineCases => Keys(CreatePipeline);

    public static TheoryData<string> ValidateRejectedCases => Keys(ValidateRejected);

    public static TheoryData<string> ValidateInvalidCases => Keys(ValidateInvalid);

    public static TheoryData<string> AddVersionCases => Keys(AddVersion);

    public static TheoryData<string> PipelineReadDeleteCases => Keys(PipelineReadDelete);

    public static TheoryData<string> StartRunCases => Keys(StartRun);

    public static TheoryData<string> ListRunsCases => Keys(ListRuns);

    public static TheoryData<string> GetRunCases => Keys(GetRun);

    public static TheoryData<string> StopRunCases => Keys(StopRun);

    public static TheoryData<string> BatchStopCases => Keys(BatchStop);

    public static TheoryData<string> DeleteRunCases => Keys(DeleteRun);

    public static TheoryData<string> StepLogsCases => Keys(StepLogs);

    public static TheoryData<string> OperationsCases => Keys(Operations);

    public static TheoryData<string> EventsCases => Keys(Events);

    public static TheoryData<string> UnknownRouteCases => Keys(UnknownRoutes);

    private static readonly Dictionary<string, Bad> CreatePipeline = Table(
        ("empty body", Post("/api/v1/pipelines", _ => Yaml(""), 400)),
        ("whitespace body", Post("/api/v1/pipelines", _ => Yaml("  \n\t\n"), 400)),
        ("no body and no Content-Type", new Bad(HttpMethod.Post, _ => "/api/v1/pipelines", 400)),
        ("malformed YAML", Post("/api/v1/pipelines", _ => Yaml("name: [unclosed\nsteps:\n  - {name: a, command: \"true\"\n"), 400, problems: 1)),
        ("YAML scalar, not a mapping", Post("/api/v1/pipelines", _ => Yaml("just a string\n"), 400, problems: 1)),
        ("YAML list, not a mapping", Post("/api/v1/pipelines", _ => Yaml("- a\n- b\n"), 400, problems: 1)),
        ("YAML duplicate keys", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nname: {Fresh()}\nsteps:\n  - name: a\n    command: \"true\"\n"), 400, problems: 1)),
        ("malformed JSON as application/json", Post("/api/v1/pipelines", _ => JsonText("{\"name\": \"x\", \"steps\": ["), 400, problems: 1)),
        ("a JSON array", Post("/api/v1/pipelines", _ => JsonText("[1, 2, 3]"), 400, problems: 1)),
        ("JSON null", Post("/api/v1/pipelines", _ => JsonText("null"), 400, problems: 1)),
        ("JSON of wrong types", Post("/api/v1/pipelines", _ => JsonText("{\"name\": [\"x\"], \"steps\": \"all of them\"}"), 400, problems: 2)),
        ("unknown top-level field", Post("/api/v1/pipelines", _ => Yaml(Def(Fresh()) + "bogus: 1\n"), 400, problems: 1)),
        ("unknown step field", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: \"true\"\n    comand: typo\n"), 400, problems: 1)),
        ("unknown parameter field", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nparameters:\n  n: {{ type: Integer, defualt: 1 }}\nsteps:\n  - name: a\n    command: \"true\"\n"), 400, problems: 1)),
        ("5 MB body", Post("/api/v1/pipelines", _ => Yaml(Def(Fresh()) + "# " + new string('x', 5 * 1024 * 1024) + "\n"), 413)),
        ("5 MB chunked body", Post("/api/v1/pipelines", _ => new ChunkedContent(Encoding.UTF8.GetBytes(Def(Fresh()) + "# " + new string('x', 5 * 1024 * 1024) + "\n"), "application/yaml"), 413)),
        ("Content-Type image/png", Post("/api/v1/pipelines", _ => Bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13], "image/png"), 400)),
        ("Content-Type application/xml", Post("/api/v1/pipelines", _ => Bytes(Encoding.UTF8.GetBytes("<pipeline name=\"x\"/>"), "application/xml"), 400)),
        ("invalid UTF-8", Post("/api/v1/pipelines", _ => Bytes([.. "name: "u8, 0xFF, 0xFE, 0xC3, .. "\nsteps: []\n"u8], "application/yaml"), 400)),
        ("name with quotes", Post("/api/v1/pipelines", _ => Yaml(Def("it's-\"quoted\"")), 400, problems: 1)),
        ("name with semicolon", Post("/api/v1/pipelines", _ => Yaml(Def("x'; DROP TABLE pipelines; --")), 400, problems: 1)),
        ("name with ../", Post("/api/v1/pipelines", _ => Yaml(Def("../../etc/passwd")), 400, problems: 1)),
        ("name with slash", Post("/api/v1/pipelines", _ => Yaml(Def("a/b")), 400, problems: 1)),
        ("name with unicode", Post("/api/v1/pipelines", _ => Yaml(Def("pipeline-ünïcødé-🙂")), 400, problems: 1)),
        ("name with NUL", Post("/api/v1/pipelines", _ => Yaml(Def("nul\0name")), 400, problems: 1)),
        ("name with newline", Post("/api/v1/pipelines", _ => Yaml(Def("two\nlines")), 400, problems: 1)),
        ("name with spaces", Post("/api/v1/pipelines", _ => Yaml(Def("has spaces")), 400, problems: 1)),
        ("empty name", Post("/api/v1/pipelines", _ => Yaml(Def("")), 400, problems: 1)),
        ("300-char name", Post("/api/v1/pipelines", _ => Yaml(Def(new string('a', 300))), 400, problems: 1)),
        ("missing name", Post("/api/v1/pipelines", _ => Yaml("steps:\n  - name: a\n    command: \"true\"\n"), 400, problems: 1)),
        ("name is a list", Post("/api/v1/pipelines", _ => Yaml("name: [a, b]\nsteps:\n  - name: a\n    command: \"true\"\n"), 400, problems: 1)),
        ("missing steps", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\n"), 400, problems: 1)),
        ("steps not a list", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps: 12\n"), 400, problems: 1)),
        ("a cycle", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: \"true\"\n    dependsOn: [b]\n  - name: b\n    command: \"true\"\n    dependsOn: [a]\n"), 400, problems: 1)),
        ("a cycle through references", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: echo\n    args: [\"{{{{steps.b.outputs.x}}}}\"]\n    outputs: {{ x: String }}\n  - name: b\n    command: echo\n    args: [\"{{{{steps.a.outputs.x}}}}\"]\n    outputs: {{ x: String }}\n"), 400, problems: 1)),
        ("a step depending on itself", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: \"true\"\n    dependsOn: [a]\n"), 400, problems: 1)),
        ("duplicate steps", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: \"true\"\n  - name: a\n    command: \"false\"\n"), 400, problems: 1)),
        ("several unknown references at once", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: echo\n    args: [\"{{{{params.nope}}}}\", \"{{{{steps.ghost.outputs.x}}}}\"]\n    dependsOn: [phantom]\n"), 400, problems: 3)),
        ("several problems in several steps", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: \"true\"\n  - name: a\n    command: \"true\"\n  - name: c\n    dependsOn: [nobody]\n"), 400, problems: 3)),
        ("a step without a command", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n"), 400, problems: 1)),
        ("a hostile step name", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: \"a; rm -rf /\"\n    command: \"true\"\n"), 400, problems: 1)),
        ("a step name with ../", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: \"../../escape\"\n    command: \"true\"\n"), 400, problems: 1)),
        ("an unknown parameter type", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nparameters:\n  n: {{ type: Complex }}\nsteps:\n  - name: a\n    command: \"true\"\n"), 400, problems: 1)),
        ("a default of the wrong type", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nparameters:\n  n: {{ type: Integer, default: abc }}\nsteps:\n  - name: a\n    command: \"true\"\n"), 400, problems: 1)),
        ("a hostile parameter name", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nparameters:\n  \"n; rm -rf /\": {{ type: String, default: x }}\nsteps:\n  - name: a\n    command: \"true\"\n"), 400, problems: 1)),
        ("a timeout that is not a duration", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: \"true\"\n    timeout: soon\n"), 400, problems: 1)),
        ("a negative retry count", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: \"true\"\n    retries: {{ count: -1 }}\n"), 400, problems: 1)),
        ("args not a list", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: echo\n    args: {{ a: 1 }}\n"), 400, problems: 1)),
        ("an unclosed template", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: echo\n    args: [\"{{{{params.n\"]\n"), 400, problems: 1)),
        ("an output of an unknown type", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: \"true\"\n    outputs: {{ x: Tensor }}\n"), 400, problems: 1)),
        ("an alias bomb of a billion values", Post("/api/v1/pipelines", _ => Yaml(AliasBomb(Fresh())), 400, problems: 1)),
        ("nesting 101 deep", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: echo\n    args: {new string('[', 101)}{new string(']', 101)}\n"), 400, problems: 1)),
        ("a string value of 200,000 chars", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: echo\n    args: [\"{new string('a', 200_000)}\"]\n"), 400, problems: 1)),
        ("1001 args", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: echo\n    args: [{string.Join(", ", Enumerable.Repeat("x", 1001))}]\n"), 400, problems: 1)),
        ("two YAML documents", Post("/api/v1/pipelines", _ => Yaml(Def(Fresh()) + "---\n" + Def(Fresh())), 400, problems: 1)),
        ("an unknown YAML tag", Post("/api/v1/pipelines", _ => Yaml($"name: !!python/object:os.system {Fresh()}\nsteps:\n  - name: a\n    command: \"true\"\n"), 400, problems: 1)),
        ("an env name reserved for sluice", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: \"true\"\n    env: {{ SLUICE_OUTPUTS: /etc }}\n"), 400, problems: 1)),
        ("an env name with '='", Post("/api/v1/pipelines", _ => Yaml($"name: {Fresh()}\nsteps:\n  - name: a\n    command: \"true\"\n    env: {{ \"A=B\": x }}\n"), 400, problems: 1)),
        ("the seeded name again", Post("/api/v1/pipelines", s => Yaml(Def(s.Pipeline)), 409)));

    private static readonly Dictionary<string, Bad> ValidateRejected = Table(
        ("empty body", Post("/api/v1/pipelines:validate", _ => Yaml(""), 400)),
        ("Content-Type image/png", Post("/api/v1/pipelines:validate", _ => Bytes([0x89, 0x50, 0x4E, 0x47], "image/png"), 400)),
        ("invalid UTF-8", Post("/api/v1/pipelines:validate", _ => Bytes([0xFF, 0xFE, 0xFD], "application/yaml"), 400)),
        ("5 MB body", Post("/api/v1/pipelines:validate", _ => Yaml(Def(Fresh()) + "# " + new string('x', 5 * 1024 * 1024) + "\n"), 413)));

    /// <summary>Definitions that compile with problems: :validate answers 200 with valid=false and at least N problems.</summary>
    private static readonly Dictionary<string, (string Body, string Type, int Problems)> ValidateInvalid = new(StringComparer.Ordinal)
    {
        ["malformed YAML"] = ("name: [unclosed\nsteps:\n  - {name: a\n", "application/yaml", 1),
        ["malformed JSON"] = ("{\"name\": \"x\", \"steps\": [", "application/json", 1),
        ["a JSON array"] = ("[1, 2, 3]", "application/json", 1),
        ["unknown field"] = (Def("validate-unknown") + "bogus: 1\n", "application/yaml", 1),
        ["a hostile name"] = (Def("x'; DROP TABLE pipelines; --"), "application/yaml", 1),
        ["a cycle"] = ("name: v-cycle\nsteps:\n  - name: a\n    command: \"true\"\n    dependsOn: [b]\n  - name: b\n    command: \"true\"\n    dependsOn: [a]\n", "application/yaml", 1),
        ["duplicate steps"] = ("name: v-dup\nsteps:\n  - name: a\n    command: \"true\"\n  - name: a\n    command: \"true\"\n", "application/yaml", 1),
        ["several unknown references"] = ("name: v-refs\nsteps:\n  - name: a\n    command: echo\n    args: [\"{{params.nope}}\", \"{{steps.ghost.outputs.x}}\"]\n    dependsOn: [phantom]\n", "application/yaml", 3),
    };

    private static readonly Dictionary<string, Bad> AddVersion = Table(
        ("unknown pipeline", Post(_ => "/api/v1/pipelines/no-such-pipeline-7f3a/versions", _ => Yaml(Def("no-such-pipeline-7f3a")), 404)),
        ("mismatched name", Post(s => $"/api/v1/pipelines/{s.Pipeline}/versions", _ => Yaml(Def("some-other-name")), 400)),
        ("hostile name in the path", Post(_ => $"/api/v1/pipelines/{Uri.EscapeDataString("x'; DROP TABLE pipelines; --")}/versions", _ => Yaml(Def("some-other-name")), 400)),
        ("an invalid definition", Post(s => $"/api/v1/pipelines/{s.Pipeline}/versions", s => Yaml($"name: {s.Pipeline}\nsteps:\n  - name: a\n    command: \"true\"\n    dependsOn: [a]\n"), 400, problems: 1)),
        ("malformed YAML", Post(s => $"/api/v1/pipelines/{s.Pipeline}/versions", _ => Yaml("name: [unclosed\n"), 400, problems: 1)),
        ("empty body", Post(s => $"/api/v1/pipelines/{s.Pipeline}/versions", _ => Yaml(""), 400)),
        ("Content-Type image/png", Post(s => $"/api/v1/pipelines/{s.Pipeline}/versions", _ => Bytes([0x89, 0x50, 0x4E, 0x47], "image/png"), 400)),
        ("5 MB body", Post(s => $"/api/v1/pipelines/{s.Pipeline}/versions", s => Yaml(Def(s.Pipeline) + "# " + new string('x', 5 * 1024 * 1024) + "\n"), 413)));

    private static readonly Dictionary<string, Bad> PipelineReadDelete = Table(
        ("GET unknown", Get(_ => "/api/v1/pipelines/no-such-pipeline-7f3a", 404)),
        ("GET hostile name", Get(_ => $"/api/v1/pipelines/{Uri.EscapeDataString("x'; DROP TABLE pipelines; --")}", 404)),
        ("GET 500-char name", Get(_ => $"/api/v1/pipelines/{new string('p', 500)}", 404)),
        ("GET version=0", Get(s => $"/api/v1/pipelines/{s.Pipeline}?version=0", 400)),
        ("GET version=abc", Get(s => $"/api/v1/pipelines/{s.Pipeline}?version=abc", 400)),
        ("GET version=99", Get(s => $"/api/v1/pipelines/{s.Pipeline}?version=99", 404)),
        ("GET version twice", Get(s => $"/api/v1/pipelines/{s.Pipeline}?version=1&version=1", 400)),
        ("GET versions/99", Get(s => $"/api/v1/pipelines/{s.Pipeline}/versions/99", 404)),
        ("GET versions/0", Get(s => $"/api/v1/pipelines/{s.Pipeline}/versions/0", 404)),
        ("GET versions of unknown", Get(_ => "/api/v1/pipelines/no-such-pipeline-7f3a/versions", 404)),
        ("GET list pageSize=0", Get(_ => "/api/v1/pipelines?pageSize=0", 400)),
        ("GET list pageSize=5000", Get(_ => "/api/v1/pipelines?pageSize=5000", 400)),
        ("GET list pageSize=abc", Get(_ => "/api/v1/pipelines?pageSize=abc", 400)),
        ("GET list bad pageToken", Get(_ => "/api/v1/pipelines?pageToken=not-a-token", 400)),
        ("GET list pageToken of runs", Get(_ => $"/api/v1/pipelines?pageToken={Base64Url("[\"runs\",\"1\",\"x\"]")}", 400)),
        ("DELETE unknown", Delete(_ => "/api/v1/pipelines/no-such-pipeline-7f3a", 404)),
        ("DELETE hostile name", Delete(_ => $"/api/v1/pipelines/{Uri.EscapeDataString("x'; DROP TABLE pipelines; --")}", 404)),
        ("DELETE name with ../", Delete(_ => $"/api/v1/pipelines/{Uri.EscapeDataString("../../etc")}", 404)),
        ("DELETE 500-char name", Delete(_ => $"/api/v1/pipelines/{new string('p', 500)}", 404)));

    private static readonly Dictionary<string, Bad> StartRun = Table(
        ("malformed JSON", Post("/api/v1/runs", _ => JsonText("{\"pipeline\": "), 400)),
        ("empty body", Post("/api/v1/runs", _ => JsonText(""), 400)),
        ("not an object", Post("/api/v1/runs", _ => JsonText("[\"pipeline\"]"), 400)),
        ("a JSON string", Post("/api/v1/runs", _ => JsonText("\"pipeline\""), 400)),
        ("JSON null", Post("/api/v1/runs", _ => JsonText("null"), 400)),
        ("duplicate keys", Post("/api/v1/runs", s => JsonText($"{{\"pipeline\": \"{s.Pipeline}\", \"pipeline\": \"other\", \"parameters\": {{\"who\": \"x\"}}}}"), 400)),
        ("duplicate label keys", Post("/api/v1/runs", s => JsonText($"{{\"pipeline\": \"{s.Pipeline}\", \"parameters\": {{\"who\": \"x\"}}, \"labels\": {{\"team\": \"red\", \"team\": \"blue\"}}}}"), 400)),
        ("duplicate parameter names", Post("/api/v1/runs", s => JsonText($"{{\"pipeline\": \"{s.Pipeline}\", \"parameters\": {{\"who\": \"x\", \"who\": \"y\"}}}}"), 400)),
        ("nesting 100 deep", Post("/api/v1/runs", s => JsonText($"{{\"pipeline\": \"{s.Pipeline}\", \"parameters\": {{\"who\": {new string('[', 100)}{new string(']', 100)}}}}}"), 400)),
        ("invalid UTF-8", Post("/api/v1/runs", _ => Bytes([.. "{\"pipeline\": \""u8, 0xFF, 0xFE, .. "\"}"u8], "application/json"), 400)),
        ("Content-Type text/plain", Post("/api/v1/runs", s => Bytes(Encoding.UTF8.GetBytes($"{{\"pipeline\": \"{s.Pipeline}\"}}"), "text/plain"), 400)),
        ("missing pipeline", Post("/api/v1/runs", _ => JsonOf(new { parameters = new { who = "x" } }), 400, problems: 1)),
        ("pipeline as a number", Post("/api/v1/runs", _ => JsonOf(new { pipeline = 42 }), 400, problems: 1)),
        ("pipeline of 129 chars", Post("/api/v1/runs", _ => JsonOf(new { pipeline = new string('p', 129) }), 400, problems: 1)),
        ("parameters as a string", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = "who=x" }), 400, problems: 1)),
        ("parameters as an array", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new[] { "x" } }), 400, problems: 1)),
        ("unknown parameter", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x", nope = 1 } }), 400, problems: 1)),
        ("missing required parameter", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline }), 400, problems: 1)),
        ("Integer given abc", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x", n = "abc" } }), 400, problems: 1)),
        ("Integer given 1.5", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x", n = 1.5 } }), 400, problems: 1)),
        ("Integer given an object", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x", n = new { v = 1 } } }), 400, problems: 1)),
        ("Float given 1e400", Post("/api/v1/runs", s => JsonText($"{{\"pipeline\": \"{s.Pipeline}\", \"parameters\": {{\"who\": \"x\", \"rate\": 1e400}}}}"), 400, problems: 1)),
        ("Float given -1e400", Post("/api/v1/runs", s => JsonText($"{{\"pipeline\": \"{s.Pipeline}\", \"parameters\": {{\"who\": \"x\", \"rate\": -1e400}}}}"), 400, problems: 1)),
        ("Float given \"NaN\"", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x", rate = "NaN" } }), 400, problems: 1)),
        ("Boolean given \"yes\"", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x", dry = "yes" } }), 400, problems: 1)),
        ("Boolean given 1", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x", dry = 1 } }), 400, problems: 1)),
        ("String given a number", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = 5 } }), 400, problems: 1)),
        ("String given null", Post("/api/v1/runs", s => JsonText($"{{\"pipeline\": \"{s.Pipeline}\", \"parameters\": {{\"who\": null}}}}"), 400, problems: 1)),
        ("several problems at once", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { n = "abc", nope = 1 } }), 400, problems: 3)),
        ("labels not strings", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, labels = new { team = 1, on = true } }), 400, problems: 2)),
        ("labels as an array", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, labels = new[] { "team=red" } }), 400, problems: 1)),
        ("a label key with spaces", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, labels = new Dictionary<string, string> { ["my team"] = "red" } }), 400, problems: 1)),
        ("a label key with a quote", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, labels = new Dictionary<string, string> { ["t'; DROP TABLE runs; --"] = "red" } }), 400, problems: 1)),
        ("an empty label key", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, labels = new Dictionary<string, string> { [""] = "red" } }), 400, problems: 1)),
        ("a 64-char label key", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, labels = new Dictionary<string, string> { [new string('k', 64)] = "red" } }), 400, problems: 1)),
        ("65 labels", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, labels = Enumerable.Range(0, 65).ToDictionary(i => $"k{i}", i => "v") }), 400, problems: 1)),
        ("a 300-char label value", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, labels = new Dictionary<string, string> { ["team"] = new string('v', 300) } }), 400, problems: 1)),
        ("a label value with NUL", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, labels = new Dictionary<string, string> { ["team"] = "red\0blue" } }), 400, problems: 1)),
        ("displayName of 10,000 chars", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, displayName = new string('d', 10_000) }), 400, problems: 1)),
        ("displayName with control characters", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, displayName = "bell\u0007nul\0" }), 400, problems: 1)),
        ("displayName as a number", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, displayName = 7 }), 400, problems: 1)),
        ("runId with uppercase", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, runId = "MyRun1" }), 400, problems: 1)),
        ("runId of 64 chars", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, runId = "r" + new string('a', 63) }), 400, problems: 1)),
        ("runId with ../", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, runId = "../../etc" }), 400, problems: 1)),
        ("runId with a quote", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, runId = "r'; DROP TABLE runs; --" }), 400, problems: 1)),
        ("runId ending with '-'", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, runId = "run-" }), 400, problems: 1)),
        ("runId starting with a digit", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, runId = "1run" }), 400, problems: 1)),
        ("runId taken", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, runId = s.RunId }), 409)),
        ("unknown pipeline", Post("/api/v1/runs", _ => JsonOf(new { pipeline = "no-such-pipeline-7f3a" }), 404)),
        ("hostile pipeline name", Post("/api/v1/runs", _ => JsonOf(new { pipeline = "x'; DROP TABLE runs; --" }), 404)),
        ("unknown version", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, version = 99, parameters = new { who = "x" } }), 404)),
        ("version 0", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, version = 0, parameters = new { who = "x" } }), 400, problems: 1)),
        ("version 1.5", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, version = 1.5, parameters = new { who = "x" } }), 400, problems: 1)),
        ("version as a string", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, version = "1", parameters = new { who = "x" } }), 400, problems: 1)),
        ("2 MB body", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = new string('w', 2 * 1024 * 1024) } }), 413)),
        ("2 MB chunked body", Post("/api/v1/runs", s => new ChunkedContent(JsonSerializer.SerializeToUtf8Bytes(new { pipeline = s.Pipeline, parameters = new { who = new string('w', 2 * 1024 * 1024) } }), "application/json"), 413)),
        ("unknown field", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, priority = "high" }), 400, problems: 1)),
        ("hostile unknown field", Post("/api/v1/runs", s => JsonText($"{{\"pipeline\": \"{s.Pipeline}\", \"parameters\": {{\"who\": \"x\"}}, \"x'; DROP TABLE runs; --\\u0000\": 1}}"), 400, problems: 1)),
        ("idempotencyToken of 200 chars", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, idempotencyToken = new string('t', 200) }), 400, problems: 1)),
        ("empty idempotencyToken", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" }, idempotencyToken = "" }), 400, problems: 1)),
        ("Idempotency-Key header of 200 chars", new Bad(HttpMethod.Post, _ => "/api/v1/runs", 400, s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "x" } }),
            Prepare: m => m.Headers.Add("Idempotency-Key", new string('t', 200)))),
        ("idempotencyToken reused for another request", Post("/api/v1/runs", s => JsonOf(new { pipeline = s.Pipeline, parameters = new { who = "someone else" }, idempotencyToken = s.Token }), 409)));

    private static readonly Dictionary<string, Bad> ListRuns = Table(
        ("pageSize=0", Get(_ => "/api/v1/runs?pageSize=0", 400)),
        ("pageSize=5000", Get(_ => "/api/v1/runs?pageSize=5000", 400)),
        ("pageSize=abc", Get(_ => "/api/v1/runs?pageSize=abc", 400)),
        ("pageSize=-1", Get(_ => "/api/v1/runs?pageSize=-1", 400)),
        ("pageSize=1.5", Get(_ => "/api/v1/runs?pageSize=1.5", 400)),
        ("pageSize given twice", Get(_ => "/api/v1/runs?pageSize=1&pageSize=2", 400)),
        ("a bad state name", Get(_ => "/api/v1/runs?state=Sleeping", 400)),
        ("a state as a number", Get(_ => "/api/v1/runs?state=1", 400)),
        ("one bad state among good ones", Get(_ => "/api/v1/runs?state=Running,Nope,Queued", 400)),
        ("a bad pageToken", Get(_ => "/api/v1/runs?pageToken=not-a-token", 400)),
        ("a pageToken of pipelines", Get(_ => $"/api/v1/runs?pageToken={Base64Url("[\"pipelines\",\"a\",\"b\"]")}", 400)),
        ("a pageToken with a bad time", Get(_ => $"/api/v1/runs?pageToken={Base64Url("[\"runs\",\"yesterday\",\"b\"]")}", 400)),
        ("a 5000-char pageToken", Get(_ => $"/api/v1/runs?pageToken={new string('A', 5000)}", 400)),
        ("a label filter without '='", Get(_ => "/api/v1/runs?label=team", 400)),
        ("a label filter with an empty key", Get(_ => "/api/v1/runs?label==red", 400)),
        ("a label filter with a hostile key", Get(_ => $"/api/v1/runs?label={Uri.EscapeDataString("t'; DROP TABLE runs; --=red")}", 400)),
        ("a 5000-char pipeline filter", Get(_ => $"/api/v1/runs?pipeline={new string('p', 5000)}", 400)),
        ("a bad order", Get(_ => "/api/v1/runs?order=sideways", 400)));

    private static readonly Dictionary<string, Bad> GetRun = Table(
        ("unknown id", Get(_ => "/api/v1/runs/nosuchrun0000", 404)),
        ("URL-encoded quotes", Get(_ => $"/api/v1/runs/{Uri.EscapeDataString("x'; DROP TABLE runs; --")}", 404)),
        ("URL-encoded double quotes", Get(_ => $"/api/v1/runs/{Uri.EscapeDataString("\"x\" OR \"1\"=\"1\"")}", 404)),
        ("a 500-char id", Get(_ => $"/api/v1/runs/{new string('r', 500)}", 404)),
        ("an id with encoded ../", Get(_ => $"/api/v1/runs/{Uri.EscapeDataString("../../etc/passwd")}", 404)),
        ("a unicode id", Get(_ => $"/api/v1/runs/{Uri.EscapeDataString("rün-🙂")}", 404)),
        ("an id with encoded newline", Get(_ => "/api/v1/runs/a%0Ab", 404)),
        ("steps of unknown", Get(_ => "/api/v1/runs/nosuchrun0000/steps", 404)),
        ("steps of a hostile id", Get(_ => $"/api/v1/runs/{Uri.EscapeDataString("x'; DROP TABLE steps; --")}/steps", 404)),
        ("events of unknown", Get(_ => "/api/v1/runs/nosuchrun0000/events", 404)),
        ("pipeline of unknown", Get(_ => "/api/v1/runs/nosuchrun0000/pipeline", 404)),
        ("events after=-1", Get(s => $"/api/v1/runs/{s.RunId}/events?after=-1", 400)),
        ("events after=abc", Get(s => $"/api/v1/runs/{s.RunId}/events?after=abc", 400)),
        ("events pageSize=0", Get(s => $"/api/v1/runs/{s.RunId}/events?pageSize=0", 400)),
        ("events pageSize=10001", Get(s => $"/api/v1/runs/{s.RunId}/events?pageSize=10001", 400)),
        ("events pageSize=x", Get(s => $"/api/v1/runs/{s.RunId}/events?pageSize=x", 400)));

    private static readonly Dictionary<string, Bad> StopRun = Table(
        ("unknown id", Post(_ => "/api/v1/runs/nosuchrun0000:stop", _ => JsonOf(new { }), 404)),
        ("hostile id", Post(_ => $"/api/v1/runs/{Uri.EscapeDataString("x'; DROP TABLE runs; --")}:stop", _ => JsonOf(new { }), 404)),
        ("a 500-char id", Post(_ => $"/api/v1/runs/{new string('r', 500)}:stop", _ => JsonOf(new { }), 404)),
        ("a finished run", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonOf(new { reason = "too late" }), 409, detail: "Succeeded")),
        ("a finished run with an empty body", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => null, 409, detail: "Succeeded")),
        ("graceSeconds -1", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonOf(new { graceSeconds = -1 }), 400, problems: 1)),
        ("graceSeconds 99999", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonOf(new { graceSeconds = 99999 }), 400, problems: 1)),
        ("graceSeconds \"x\"", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonOf(new { graceSeconds = "x" }), 400, problems: 1)),
        ("graceSeconds 1e400", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonText("{\"graceSeconds\": 1e400}"), 400, problems: 1)),
        ("reason of 5,000 chars", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonOf(new { reason = new string('r', 5000) }), 400, problems: 1)),
        ("reason with NUL", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonOf(new { reason = "why\0not" }), 400, problems: 1)),
        ("reason as an object", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonOf(new { reason = new { why = "x" } }), 400, problems: 1)),
        ("malformed JSON", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonText("{\"reason\": \"x\""), 400)),
        ("not an object", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonText("[]"), 400)),
        ("duplicate keys", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonText("{\"reason\": \"a\", \"reason\": \"b\"}"), 400)),
        ("unknown field", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonOf(new { reason = "x", force = true }), 400, problems: 1)),
        ("unknown field on unknown id", Post(_ => "/api/v1/runs/nosuchrun0000:stop", _ => JsonOf(new { force = true }), 400, problems: 1)),
        ("idempotencyToken of 200 chars", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonOf(new { idempotencyToken = new string('t', 200) }), 400, problems: 1)),
        ("Content-Type text/plain", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => Bytes("{\"reason\": \"x\"}"u8.ToArray(), "text/plain"), 400)),
        ("2 MB body", Post(s => $"/api/v1/runs/{s.RunId}:stop", _ => JsonOf(new { reason = new string('r', 2 * 1024 * 1024) }), 413)));

    private static readonly Dictionary<string, Bad> BatchStop = Table(
        ("neither runIds nor filter", Post("/api/v1/runs:stop", _ => JsonOf(new { reason = "x" }), 400, problems: 1)),
        ("both runIds and filter", Post("/api/v1/runs:stop", s => JsonOf(new { runIds = new[] { s.RunId }, filter = new { pipeline = s.Pipeline } }), 400, problems: 1)),
        ("runIds not an array", Post("/api/v1/runs:stop", s => JsonOf(new { runIds = s.RunId }), 400, problems: 1)),
        ("runIds with a non-string", Post("/api/v1/runs:stop", s => JsonText($"{{\"runIds\": [\"{s.RunId}\", 7, null]}}"), 400, problems: 2)),
        ("runIds empty", Post("/api/v1/runs:stop", _ => JsonOf(new { runIds = Array.Empty<string>() }), 400, problems: 1)),
        ("runIds with a hostile id", Post("/api/v1/runs:stop", s => JsonOf(new { runIds = new[] { s.RunId, "x'; DROP TABLE runs; --" } }), 400, problems: 1)),
        ("runIds with a 500-char id", Post("/api/v1/runs:stop", _ => JsonOf(new { runIds = new[] { new string('r', 500) } }), 400, problems: 1)),
        ("20,000 ids", Post("/api/v1/runs:stop", _ => JsonOf(new { runIds = Enumerable.Range(0, 20_000).Select(i => $"run{i:D8}").ToArray() }), 400, problems: 1)),
        ("filter with an unknown state", Post("/api/v1/runs:stop", s => JsonOf(new { filter = new { pipeline = s.Pipeline, states = new[] { "Sleeping" } } }), 400, problems: 1)),
        ("filter states not a list", Post("/api/v1/runs:stop", s => JsonOf(new { filter = new { pipeline = s.Pipeline, states = "Running" } }), 400, problems: 1)),
        ("filter not an object", Post("/api/v1/runs:stop", _ => JsonOf(new { filter = "pipeline=x" }), 400, problems: 1)),
        ("filter with an unknown field", Post("/api/v1/runs:stop", s => JsonOf(new { filter = new { pipeline = s.Pipeline, owner = "me" } }), 400, problems: 1)),
        ("filter with a non-string label", Post("/api/v1/runs:stop", s => JsonOf(new { filter = new { pipeline = s.Pipeline, labels = new { team = 1 } } }), 400, problems: 1)),
        ("filter with a hostile label key", Post("/api/v1/runs:stop", s => JsonOf(new { filter = new { pipeline = s.Pipeline, labels = new Dictionary<string, string> { ["t'; DROP TABLE runs; --"] = "red" } } }), 400, problems: 1)),
        ("graceSeconds -1", Post("/api/v1/runs:stop", s => JsonOf(new { runIds = new[] { s.RunId }, graceSeconds = -1 }), 400, problems: 1)),
        ("reason of 5,000 chars", Post("/api/v1/runs:stop", s => JsonOf(new { runIds = new[] { s.RunId }, reason = new string('r', 5000) }), 400, problems: 1)),
        ("malformed JSON", Post("/api/v1/runs:stop", _ => JsonText("{\"runIds\": [\"a\""), 400)),
        ("empty body", Post("/api/v1/runs:stop", _ => JsonText(""), 400)),
        ("not an object", Post("/api/v1/runs:stop", _ => JsonText("[\"a\"]"), 400)),
        ("duplicate keys", Post("/api/v1/runs:stop", s => JsonText($"{{\"runIds\": [\"{s.RunId}\"], \"runIds\": [\"other\"]}}"), 400)),
        ("duplicate keys in the filter", Post("/api/v1/runs:stop", s => JsonText($"{{\"filter\": {{\"pipeline\": \"{s.Pipeline}\", \"pipeline\": \"other\"}}}}"), 400)),
        ("unknown field", Post("/api/v1/runs:stop", s => JsonOf(new { runIds = new[] { s.RunId }, everything = true }), 400, problems: 1)),
        ("2 MB body", Post("/api/v1/runs:stop", s => JsonOf(new { runIds = new[] { s.RunId }, reason = new string('r', 2 * 1024 * 1024) }), 413)));

    private static readonly Dictionary<string, Bad> DeleteRun = Table(
        ("unknown id", Delete(_ => "/api/v1/runs/nosuchrun0000", 404)),
        ("hostile id", Delete(_ => $"/api/v1/runs/{Uri.EscapeDataString("x'; DROP TABLE runs; --")}", 404)),
        ("an id with encoded ../", Delete(_ => $"/api/v1/runs/{Uri.EscapeDataString("../../..")}", 404)),
        ("a 500-char id", Delete(_ => $"/api/v1/runs/{new string('r', 500)}", 404)));

    private static readonly Dictionary<string, Bad> StepLogs = Table(
        ("unknown run", Get(_ => "/api/v1/runs/nosuchrun0000/steps/work/logs", 404)),
        ("unknown step", Get(s => $"/api/v1/runs/{s.RunId}/steps/nosuchstep/logs", 404)),
        ("a step with encoded ../", Get(s => $"/api/v1/runs/{s.RunId}/steps/{Uri.EscapeDataString("../../../sluice.db")}/logs", 404)),
        ("a hostile step", Get(s => $"/api/v1/runs/{s.RunId}/steps/{Uri.EscapeDataString("work'; DROP TABLE steps; --")}/logs", 404)),
        ("stream=foo", Get(s => $"/api/v1/runs/{s.RunId}/steps/work/logs?stream=foo", 400)),
        ("stream=../pid", Get(s => $"/api/v1/runs/{s.RunId}/steps/work/logs?stream={Uri.EscapeDataString("../../../sluice.db")}", 400)),
        ("stream given twice", Get(s => $"/api/v1/runs/{s.RunId}/steps/work/logs?stream=stdout&stream=stderr", 400)),
        ("attempt=0", Get(s => $"/api/v1/runs/{s.RunId}/steps/work/logs?attempt=0", 400)),
        ("attempt=99", Get(s => $"/api/v1/runs/{s.RunId}/steps/work/logs?attempt=99", 404)),
        ("attempt=abc", Get(s => $"/api/v1/runs/{s.RunId}/steps/work/logs?attempt=abc", 400)),
        ("follow=maybe", Get(s => $"/api/v1/runs/{s.RunId}/steps/work/logs?follow=maybe", 400)));

    private static readonly Dictionary<string, Bad> Operations = Table(
        ("unknown id", Get(_ => "/api/v1/operations/nosuchop00000", 404)),
        ("hostile id", Get(_ => $"/api/v1/operations/{Uri.EscapeDataString("x'; DROP TABLE operations; --")}", 404)),
        ("a 500-char id", Get(_ => $"/api/v1/operations/{new string('o', 500)}", 404)),
        ("list pageSize=0", Get(_ => "/api/v1/operations?pageSize=0", 400)),
        ("list pageSize=5000", Get(_ => "/api/v1/operations?pageSize=5000", 400)),
        ("list bad pageToken", Get(_ => "/api/v1/operations?pageToken=not-a-token", 400)));

    private static readonly Dictionary<string, Bad> Events = Table(
        ("run=unknown", Get(_ => "/api/v1/events?run=nosuchrun0000", 404)),
        ("run=hostile", Get(_ => $"/api/v1/events?run={Uri.EscapeDataString("x'; DROP TABLE events; --")}", 404)),
        ("after=-1", Get(_ => "/api/v1/events?after=-1", 400)),
        ("after=abc", Get(_ => "/api/v1/events?after=abc", 400)),
        ("Last-Event-ID abc", new Bad(HttpMethod.Get, _ => "/api/v1/events", 400, Prepare: m => m.Headers.Add("Last-Event-ID", "abc"))));

    private static readonly Dictionary<string, Bad> UnknownRoutes = Table(
        ("GET /api/v1/whatever", Get(_ => "/api/v1/whatever", 404)),
        ("POST /api/v1/whatever", Post("/api/v1/whatever", _ => JsonOf(new { }), 404)),
        ("GET /api/v2/runs", Get(_ => "/api/v2/runs", 404)),
        ("GET a deeper run path", Get(s => $"/api/v1/runs/{s.RunId}/steps/work/logs/more", 404)),
        ("GET versions/abc", Get(s => $"/api/v1/pipelines/{s.Pipeline}/versions/abc", 404)),
        ("PUT /api/v1/runs", new Bad(HttpMethod.Put, _ => "/api/v1/runs", 404, _ => JsonOf(new { }))),
        ("PATCH a run", new Bad(HttpMethod.Patch, s => $"/api/v1/runs/{s.RunId}", 404, _ => JsonOf(new { state = "Running" }))),
        ("POST an unknown run verb", Post(s => $"/api/v1/runs/{s.RunId}:explode", _ => JsonOf(new { }), 404)));

    // ---- the tests ----

    [Theory]
    [MemberData(nameof(CreatePipelineCases))]
    public Task PostPipelines_BadInput_ProblemAndNothingChanged(string @case) => CheckAsync(CreatePipeline[@case]);

    [Theory]
    [MemberData(nameof(ValidateRejectedCases))]
    public Task PostPipelinesValidate_BadBody_ProblemAndNothingChanged(string @case) => CheckAsync(ValidateRejected[@case]);

    [Theory]
    [MemberData(nameof(ValidateInvalidCases))]
    public async Task PostPipelinesValidate_InvalidDefinition_OkWithValidFalseAndProblems(string @case)
    {
        await SeedAsync();
        var (body, type, min) = ValidateInvalid[@case];
        var before = await SnapshotAsync();
        using var content = new StringContent(body, Encoding.UTF8, type);
        using var r = await S.Http.PostAsync("/api/v1/pipelines:validate", content);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, $"expected 200, got {(int)r.StatusCode}: {text}");
        var o = JsonNode.Parse(text)!.AsObject();
        Assert.False(o["valid"]!.GetValue<bool>(), text);
        var problems = o["problems"]!.AsArray();
        Assert.True(problems.Count >= min, $"expected at least {min} problems: {text}");
        Assert.All(problems, p => Assert.False(string.IsNullOrWhiteSpace(p!["message"]?.GetValue<string>()), text));
        Assert.Equal(before, await SnapshotAsync());
    }

    [Theory]
    [MemberData(nameof(AddVersionCases))]
    public Task PostPipelineVersions_BadInput_ProblemAndNothingChanged(string @case) => CheckAsync(AddVersion[@case]);

    [Theory]
    [MemberData(nameof(PipelineReadDeleteCases))]
    public Task GetDeletePipelines_BadInput_ProblemAndNothingChanged(string @case) => CheckAsync(PipelineReadDelete[@case]);

    [Theory]
    [MemberData(nameof(StartRunCases))]
    public Task PostRuns_BadInput_ProblemAndNothingChanged(string @case) => CheckAsync(StartRun[@case]);

    [Theory]
    [MemberData(nameof(ListRunsCases))]
    public Task GetRuns_BadQuery_ProblemAndNothingChanged(string @case) => CheckAsync(ListRuns[@case]);

    [Theory]
    [MemberData(nameof(GetRunCases))]
    public Task GetRun_UnknownOrHostileId_ProblemAndNothingChanged(string @case) => CheckAsync(GetRun[@case]);

    [Theory]
    [MemberData(nameof(StopRunCases))]
    public Task PostRunStop_BadInput_ProblemAndNothingChanged(string @case) => CheckAsync(StopRun[@case]);

    [Theory]
    [MemberData(nameof(BatchStopCases))]
    public Task PostRunsStop_BadInput_ProblemAndNothingChanged(string @case) => CheckAsync(BatchStop[@case]);

    [Theory]
    [MemberData(nameof(DeleteRunCases))]
    public Task DeleteRun_UnknownOrHostileId_ProblemAndNothingChanged(string @case) => CheckAsync(DeleteRun[@case]);

    [Theory]
    [MemberData(nameof(StepLogsCases))]
    public Task GetStepLogs_BadInput_ProblemAndNothingChanged(string @case) => CheckAsync(StepLogs[@case]);

    [Theory]
    [MemberData(nameof(OperationsCases))]
    public Task GetOperations_BadInput_ProblemAndNothingChanged(string @case) => CheckAsync(Operations[@case]);

    [Theory]
    [MemberData(nameof(EventsCases))]
    public Task GetEvents_BadInput_ProblemAndNothingChanged(string @case) => CheckAsync(Events[@case]);

    [Theory]
    [MemberData(nameof(UnknownRouteCases))]
    public Task UnknownRoute_Any_NotFoundProblem(string @case) => CheckAsync(UnknownRoutes[@case]);

    [Fact]
    public async Task PostRuns_HostileButValidStrings_RoundTripVerbatimAsOneArgvEntry()
    {
        await SeedAsync();
        using var canaries = new TempDirectory("sluice-canary");
        var touched1 = canaries.File("backticks");
        var touched2 = canaries.File("dollar-paren");
        var touched3 = canaries.File("semicolon");
        var value = $"$(rm -rf /) `touch {touched1}` $(touch {touched2}); touch {touched3}; '; DROP TABLE runs; -- \"dq\" 'sq' "
            + "{{params.v}} ${HOME} $SLUICE_OUTPUTS | & > < * ? ~ \\ ../../etc/passwd ünïcødé 🙂";
        const string label = "'; DROP TABLE runs; --";
        var display = "Robert'); DROP TABLE runs; -- `id` $(id)";
        var name = Json.UniqueName("hostile");
        await S.CreatePipelineAsync($$$"""
            name: {{{name}}}
            parameters:
              v: { type: String, default: plain }
            steps:
              - name: echo
                command: sh
                args: ["-c", "printf %s \"$0\" > $SLUICE_OUTPUTS/v", "{{params.v}}"]
                outputs: { v: String }
            """);
        var before = Directory.GetFileSystemEntries(canaries.Path);
        var created = await S.PostJsonAsync("/api/v1/runs", new
        {
            pipeline = name, parameters = new { v = value }, labels = new Dictionary<string, string> { ["note"] = label }, displayName = display,
        }, HttpStatusCode.Created);
        var id = created.Str("id");
        var done = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed" or "Stopped");
        Assert.Equal("Succeeded", done.Str("state"));
        var step = done.StepOf("echo");
        Assert.Equal(value, step["outputs"]!["v"]!.GetValue<string>());
        var args = step["inputs"]!["args"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        Assert.Equal(3, args.Count);
        Assert.Equal(value, args[2]);
        Assert.Equal(value, done["parameters"]!["v"]!.GetValue<string>());
        Assert.Equal(label, done["labels"]!["note"]!.GetValue<string>());
        Assert.Equal(display, done.Str("displayName"));

        var listed = await S.GetJsonAsync($"/api/v1/runs?pipeline={name}&label={Uri.EscapeDataString("note=" + label)}");
        Assert.Equal([id], listed["runs"]!.AsArray().Select(r => r.Str("id")));
        Assert.Equal(before, Directory.GetFileSystemEntries(canaries.Path));
        Assert.False(File.Exists(touched1) || File.Exists(touched2) || File.Exists(touched3), "a hostile argument was run by a shell");
        Assert.True(Directory.Exists("/bin") && Directory.Exists("/etc"), "the file system was touched");
        // The seeded data survived the hostile strings.
        var seed = await SeedAsync();
        Assert.Equal("Succeeded", (await S.GetRunAsync(seed.RunId)).Str("state"));
        await S.GetJsonAsync($"/api/v1/pipelines/{seed.Pipeline}");
    }

    [Fact]
    public async Task PostPipelines_DeeplyNestedDefinitions_BadRequestAndServerSurvives()
    {
        // A server of its own: a stack overflow would take the process down.
        await using var server = await ServerProcess.StartAsync();
        var deep = 100_000;
        var yaml = $"name: deep-yaml\nsteps:\n  - name: a\n    command: echo\n    args: {new string('[', deep)}{new string(']', deep)}\n";
        var json = $"{{\"name\": \"deep-json\", \"steps\": [{{\"name\": \"a\", \"command\": \"echo\", \"args\": {new string('[', deep)}{new string(']', deep)}}}]}}";
        foreach (var (body, type) in new[] { (yaml, "application/yaml"), (json, "application/json") })
        {
            foreach (var path in new[] { "/api/v1/pipelines", "/api/v1/pipelines:validate" })
            {
                using var content = new StringContent(body, Encoding.UTF8, type);
                HttpResponseMessage r;
                try
                {
                    r = await server.Http.PostAsync(path, content);
                }
                catch (HttpRequestException e)
                {
                    throw new InvalidOperationException($"POST {path} ({type}, {deep} levels) killed the server: {e.Message}\n{server.Output}", e);
                }
                using (r)
                {
                    var text = await r.Content.ReadAsStringAsync();
                    if (path.EndsWith(":validate", StringComparison.Ordinal))
                    {
                        Assert.True(r.StatusCode == HttpStatusCode.OK, $"{path} {type}: {(int)r.StatusCode} {text}");
                        Assert.False(JsonNode.Parse(text)!["valid"]!.GetValue<bool>());
                    }
                    else
                    {
                        Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{path} {type}: {(int)r.StatusCode} {text}");
                        AssertProblem(text, r, HttpStatusCode.BadRequest, 1, null);
                    }
                }
            }
        }
        using var health = await server.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Empty((await server.GetJsonAsync("/api/v1/pipelines"))["pipelines"]!.AsArray());
    }

    // ---- the machinery ----

    private async Task CheckAsync(Bad bad)
    {
        var seed = await SeedAsync();
        var before = await SnapshotAsync();
        var path = bad.Path(seed);
        using var m = new HttpRequestMessage(bad.Method, path) { Content = bad.Body?.Invoke(seed) };
        if (m.Content?.Headers.ContentLength > 1024 * 1024)
        {
            // As curl does for large bodies: the server may answer 413 and close before reading what it refuses, and
            // HttpClient would report the broken send instead of the answer.
            m.Headers.ExpectContinue = true;
        }
        bad.Prepare?.Invoke(m);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var r = await S.Http.SendAsync(m, HttpCompletionOption.ResponseContentRead, cts.Token);
        var text = await r.Content.ReadAsStringAsync(cts.Token);
        var expected = (HttpStatusCode)bad.Status;
        Assert.True((int)r.StatusCode < 500, $"{bad.Method} {Cut(path)} answered {(int)r.StatusCode}: {text}");
        Assert.True(r.StatusCode == expected, $"{bad.Method} {Cut(path)}: expected {(int)expected}, got {(int)r.StatusCode}: {text}");
        AssertProblem(text, r, expected, bad.Problems, bad.Detail);
        Assert.Equal(before, await SnapshotAsync());
    }

    private static void AssertProblem(string text, HttpResponseMessage r, HttpStatusCode status, int minProblems, string? detail)
    {
        Assert.True(r.Content.Headers.ContentType?.MediaType == "application/problem+json",
            $"Content-Type is {r.Content.Headers.ContentType}, not application/problem+json: {text}");
        JsonObject o;
        try
        {
            o = JsonNode.Parse(text)!.AsObject();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        {
            throw new InvalidOperationException($"the problem is not a JSON object: {text}", e);
        }
        Assert.Equal((int)status, o["status"]?.GetValue<int>());
        var d = o["detail"]?.GetValue<string>();
        Assert.False(string.IsNullOrWhiteSpace(d), $"no detail: {text}");
        Assert.False(string.IsNullOrWhiteSpace(o["title"]?.GetValue<string>()), $"no title: {text}");
        Assert.DoesNotContain("Exception", d, StringComparison.Ordinal);
        if (detail is not null)
        {
            Assert.Contains(detail, d, StringComparison.Ordinal);
        }
        if (minProblems > 0)
        {
            var problems = o["problems"] as JsonArray;
            Assert.True(problems is not null && problems.Count >= minProblems, $"expected at least {minProblems} problems: {text}");
            Assert.All(problems, p =>
            {
                Assert.NotNull(p?["path"]);
                Assert.False(string.IsNullOrWhiteSpace(p["message"]?.GetValue<string>()), text);
            });
        }
    }

    /// <summary>Everything a request could change: pipelines and their versions, runs with steps and history, operations, data files.</summary>
    private async Task<string> SnapshotAsync()
    {
        var sb = new StringBuilder();
        var pipelines = await S.GetJsonAsync("/api/v1/pipelines?pageSize=1000");
        Assert.Null(pipelines["nextPageToken"]);
        sb.AppendLine(pipelines.ToJsonString());
        foreach (var p in pipelines["pipelines"]!.AsArray())
        {
            sb.AppendLine((await S.GetJsonAsync($"/api/v1/pipelines/{p.Str("name")}/versions")).ToJsonString());
        }
        var runs = await S.GetJsonAsync("/api/v1/runs?pageSize=1000");
        Assert.Null(runs["nextPageToken"]);
        foreach (var run in runs["runs"]!.AsArray())
        {
            var id = run.Str("id");
            sb.AppendLine((await S.GetRunAsync(id)).ToJsonString());
            sb.AppendLine((await S.GetJsonAsync($"/api/v1/runs/{id}/events")).ToJsonString());
        }
        var ops = await S.GetJsonAsync("/api/v1/operations?pageSize=1000");
        Assert.Null(ops["nextPageToken"]);
        sb.AppendLine(ops.ToJsonString());
        foreach (var f in Directory.EnumerateFileSystemEntries(S.DataDir, "*", SearchOption.AllDirectories)
                     .Where(f => !Path.GetFileName(f).StartsWith("sluice.db", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            sb.Append(Path.GetRelativePath(S.DataDir, f)).Append(' ').AppendLine(File.Exists(f) ? new FileInfo(f).Length.ToString(CultureInfo.InvariantCulture) : "dir");
        }
        return sb.ToString();
    }

    private Task<Seed> SeedAsync() => Seeds.GetValue(fixture, f => SeedServerAsync(f.Server));

    /// <summary>A pipeline, a finished run of it (started with an idempotency token) and a finished batch-stop operation.</summary>
    private static async Task<Seed> SeedServerAsync(ServerProcess s)
    {
        var name = Json.UniqueName("bad-seed");
        await s.CreatePipelineAsync($$$"""
            name: {{{name}}}
            parameters:
              who: { type: String }
              n: { type: Integer, default: 1 }
              rate: { type: Float, default: 0.5 }
              dry: { type: Boolean, default: false }
            steps:
              - name: work
                command: sh
                args: ["-c", "echo \"hello $0 $1\"; echo oops >&2", "{{params.who}}", "{{params.n}}"]
            """);
        var token = Guid.NewGuid().ToString("N");
        var run = await s.PostJsonAsync("/api/v1/runs", new
        {
            pipeline = name, parameters = new { who = "seed" }, labels = new { team = "red" }, idempotencyToken = token,
        }, HttpStatusCode.Created);
        var id = run.Str("id");
        Assert.Equal("Succeeded", (await s.WaitForRunAsync(id, st => st is "Succeeded" or "Failed" or "Stopped")).Str("state"));
        var op = await s.PostJsonAsync("/api/v1/runs:stop", new { runIds = new[] { id }, reason = "seed" }, HttpStatusCode.Accepted);
        Assert.True(op["done"]!.GetValue<bool>(), op.ToJsonString());
        return new Seed(name, id, op.Str("id"), token);
    }

    private static string Cut(string s) => s.Length > 120 ? s[..120] + "..." : s;

    private static string Fresh() => Json.UniqueName("bad");

    private static string Def(string name) => $"name: {JsonSerializer.Serialize(name)}\nsteps:\n  - name: a\n    command: \"true\"\n";

    /// <summary>Nine levels of ten aliases each: a billion values once expanded, in a few hundred bytes.</summary>
    private static string AliasBomb(string name)
    {
        var sb = new StringBuilder($"name: {name}\nx0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var i = 1; i <= 9; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"x{i}: &x{i} [{string.Join(", ", Enumerable.Repeat($"*x{i - 1}", 10))}]\n");
        }
        return sb.Append("steps:\n  - name: a\n    command: echo\n    args: *x9\n").ToString();
    }

    private static string Base64Url(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static HttpContent Yaml(string s) => new StringContent(s, Encoding.UTF8, "application/yaml");

    private static HttpContent JsonText(string s) => new StringContent(s, Encoding.UTF8, "application/json");

    private static HttpContent JsonOf<T>(T value) => JsonContent.Create(value);

    private static HttpContent Bytes(byte[] bytes, string type)
    {
        var c = new ByteArrayContent(bytes);
        c.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
        return c;
    }

    private static Bad Post(string path, Func<Seed, HttpContent?> body, int status, int problems = 0, string? detail = null) =>
        new(HttpMethod.Post, _ => path, status, body, problems, detail);

    private static Bad Post(Func<Seed, string> path, Func<Seed, HttpContent?> body, int status, int problems = 0, string? detail = null) =>
        new(HttpMethod.Post, path, status, body, problems, detail);

    private static Bad Get(Func<Seed, string> path, int status) => new(HttpMethod.Get, path, status);

    private static Bad Delete(Func<Seed, string> path, int status) => new(HttpMethod.Delete, path, status);

    private static Dictionary<string, Bad> Table(params (string Name, Bad Case)[] rows) =>
        rows.ToDictionary(r => r.Name, r => r.Case, StringComparer.Ordinal);

    private static TheoryData<string> Keys<T>(Dictionary<string, T> table) => [.. table.Keys];

    private sealed record Seed(string Pipeline, string RunId, string OperationId, string Token);

    /// <summary>One bad request: method, path, body (built against the seeded ids), the exact status, and the least number of problems listed.</summary>
    private sealed record Bad(HttpMethod Method, Func<Seed, string> Path, int Status, Func<Seed, HttpContent?>? Body = null, int Problems = 0,
        string? Detail = null, Action<HttpRequestMessage>? Prepare = null);

    /// <summary>A body sent chunked, with no Content-Length.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly byte[] data;

        public ChunkedContent(byte[] data, string type)
        {
            this.data = data;
            Headers.ContentType = MediaTypeHeaderValue.Parse(type);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(data).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
