using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Execution;

namespace Sluice.Executors.Process;

/// <summary>The files of an attempt's directory, and how its outcome is read from them.</summary>
internal static class StepFiles
{
    public const string Pid = "pid";
    public const string Exit = "exit";
    public const string Stdout = "stdout.log";
    public const string Stderr = "stderr.log";
    public const string Outputs = "outputs";

    public const string LostReason = "lost: the step's process ended while the server was down and left no exit status";

    private const int MaxReasonLine = 300;

    /// <summary>The outcome of an attempt whose processes are all gone and that was not stopped.</summary>
    /// <param name="noExitReason">The reason when no exit status was recorded.</param>
    /// <param name="supervisorStatus">The status its supervisor exited with, when this server reaped it: the same as the
    /// exit file's, and the one to go by when the file could not be written (a full disk).</param>
    public static StepOutcome ReadOutcome(string dir, StepPlan plan, string noExitReason, int? supervisorStatus = null)
    {
        var outputs = plan.Outputs;
        var code = ReadExitCode(dir) ?? supervisorStatus;
        if (code is null)
        {
            return StepOutcome.Failure(noExitReason);
        }
        if (code != 0)
        {
            var reason = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"exited with code {code}"));
            if (code is > 128 and < 128 + 65)
            {
                reason.Append(CultureInfo.InvariantCulture, $" (signal {code - 128})");
            }
            if (LastStderrLine(dir) is { } line)
            {
                reason.Append(": ").Append(line);
            }
            return StepOutcome.Failure(reason.ToString(), code);
        }
        if (plan is ProcessStepPlan { Layout: { } layout })
        {
            // The definition format reads its own outputs (e.g. a KFP executor output file).
            return layout.ReadOutputs(dir) with { ExitCode = 0 };
        }
        var values = new JsonObject();
        foreach (var spec in outputs)
        {
            if (spec.Name.Length == 0 || spec.Name.Contains('/', StringComparison.Ordinal) || spec.Name.Contains('\0', StringComparison.Ordinal) || spec.Name is "." or "..")
            {
                return StepOutcome.Failure($"output '{spec.Name}' has a name that cannot be a file name", 0);
            }
            var path = Path.Combine(dir, Outputs, spec.Name);
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return StepOutcome.Failure($"output '{spec.Name}' was not written (expected the file $SLUICE_OUTPUTS/{spec.Name})", 0);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return StepOutcome.Failure($"output '{spec.Name}' could not be read: {e.Message}", 0);
            }
            text = TrimNewline(text);
            if (!Values.TryCoerce(JsonValue.Create(text), spec.Type, out var value, out var error))
            {
                return StepOutcome.Failure($"output '{spec.Name}' is not a valid {spec.Type}: {error}", 0);
            }
            values[spec.Name] = value;
        }
        return StepOutcome.Success(values, 0);
    }

    /// <summary>The recorded exit status; null when none was recorded (or it is unreadable, e.g. cut short).</summary>
    public static int? ReadExitCode(string dir) => ReadNumber(Path.Combine(dir, Exit), NumberStyles.Integer);

    public static int? ReadPid(string dir) => ReadNumber(Path.Combine(dir, Pid), NumberStyles.None) is { } pid && pid > 1 ? pid : null;

    /// <summary>The number a supervisor wrote to a small file ("N\n"); null when the file is missing, unreadable or holds
    /// anything else. Read in one call into the stack: it is read once for every step that ends.</summary>
    private static int? ReadNumber(string path, NumberStyles style)
    {
        Span<byte> buffer = stackalloc byte[64];
        int n;
        try
        {
            using var handle = File.OpenHandle(path);
            n = RandomAccess.Read(handle, buffer, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        if (n >= buffer.Length)
        {
            return null;
        }
        ReadOnlySpan<byte> text = buffer[..n];
        var range = Ascii.Trim(text);
        return int.TryParse(text[range], style, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    /// <summary>The last non-empty line of stderr.log, shortened; only the file's tail is read.</summary>
    public static string? LastStderrLine(string dir)
    {
        const int tail = 8192;
        byte[] bytes;
        try
        {
            using var handle = File.OpenHandle(Path.Combine(dir, Stderr));
            var length = RandomAccess.GetLength(handle);
            var offset = Math.Max(0, length - tail);
            bytes = new byte[length - offset];
            var n = RandomAccess.Read(handle, bytes, offset);
            Array.Resize(ref bytes, n);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        var text = Encoding.UTF8.GetString(bytes);
        var lines = text.Split('\n');
        for (var i = lines.Length - 1; i >= 0; i--)
        {
            var line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }
            return line.Length <= MaxReasonLine ? line : string.Concat(line.AsSpan(0, MaxReasonLine), "...");
        }
        return null;
    }

    private static string TrimNewline(string text)
    {
        if (text.EndsWith("\r\n", StringComparison.Ordinal))
        {
            return text[..^2];
        }
        return text.EndsWith('\n') ? text[..^1] : text;
    }
}
