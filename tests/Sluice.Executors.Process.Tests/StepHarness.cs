using System.Globalization;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Execution;
using Sluice.TestKit;

namespace Sluice.Executors.Process.Tests;

/// <summary>Builds step starts and watches real processes for the executor tests.</summary>
internal static class StepHarness
{
    public static StepStart Start(TempDirectory temp, string command, IEnumerable<string>? args = null,
        IReadOnlyDictionary<string, string>? env = null, string? workingDir = null, IReadOnlyList<OutputSpec>? outputs = null,
        string attemptDir = "attempt-1")
    {
        var envJson = new JsonObject();
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            envJson[k] = v;
        }
        return new StepStart
        {
            RunId = "r0000000test1",
            StepName = "train",
            Attempt = 1,
            Directory = temp.File(attemptDir),
            Plan = new ProcessStepPlan { Name = "train", Command = Template.Literal(command), Outputs = outputs ?? [] },
            Inputs = new JsonObject
            {
                ["command"] = command,
                ["args"] = new JsonArray([.. (args ?? []).Select(a => (JsonNode?)JsonValue.Create(a))]),
                ["env"] = envJson,
                ["workingDir"] = workingDir,
            },
        };
    }

    /// <summary>A shell step: <c>sh -c script</c>.</summary>
    public static StepStart Shell(TempDirectory temp, string script, IReadOnlyList<OutputSpec>? outputs = null,
        IReadOnlyDictionary<string, string>? env = null, string? workingDir = null) =>
        Start(temp, "sh", ["-c", script], env, workingDir, outputs);

    public static StepRecord Record(StepStart start, ProcessHandle? process, StepState state = StepState.Running) => new()
    {
        RunId = start.RunId,
        Name = start.StepName,
        Kind = "process",
        State = state,
        Version = 3,
        Attempt = start.Attempt,
        Inputs = start.Inputs,
        Process = process,
    };

    public static Task<StepOutcome> Outcome(IStepExecution execution) => execution.Completion.WaitAsync(Deadline.Default);

    /// <summary>Alive = has a /proc entry and is not a zombie (pid 1 may take seconds to reap orphans).</summary>
    public static bool IsAlive(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (IOException)
        {
            return false;
        }
        var rest = stat[(stat.LastIndexOf(')') + 2)..];
        return rest[0] is not ('Z' or 'X');
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var until = TimeProvider.System.GetTimestamp() + (long)(Deadline.Default.TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (!condition())
        {
            if (TimeProvider.System.GetTimestamp() > until)
            {
                throw new TimeoutException($"timed out waiting until {what}");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System);
        }
    }

    /// <summary>Waits for a file a step writes (a pid, a "ready" mark) and returns its trimmed content.</summary>
    public static async Task<string> WaitForFileAsync(string path)
    {
        string? text = null;
        await WaitUntilAsync(() =>
        {
            try
            {
                text = File.ReadAllText(path);
                return text.EndsWith('\n');
            }
            catch (IOException)
            {
                return false;
            }
        }, $"{path} is written");
        return text!.Trim();
    }

    public static async Task<int> WaitForPidAsync(string path) => int.Parse(await WaitForFileAsync(path), CultureInfo.InvariantCulture);
}
