using System.Text.RegularExpressions;
using Sluice.Core.Domain;

namespace Sluice.Core.Api;

/// <summary>A run field a <see cref="RunCondition"/> or an order can name.</summary>
public enum RunField
{
    Id,
    Pipeline,
    DisplayName,
    State,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    EndedAt,
    Face,
}

/// <summary>How a condition compares; <see cref="Matches"/> is a text match where '*' stands for any run of characters.</summary>
public enum RunOp
{
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Matches,
}

/// <summary>A predicate over runs (a face's list filter, in canonical terms).</summary>
public abstract record RunCondition
{
    public abstract bool Test(RunRecord run);
}

public sealed record RunAll(IReadOnlyList<RunCondition> Conditions) : RunCondition
{
    public override bool Test(RunRecord run) => Conditions.All(c => c.Test(run));
}

public sealed record RunAny(IReadOnlyList<RunCondition> Conditions) : RunCondition
{
    public override bool Test(RunRecord run) => Conditions.Any(c => c.Test(run));
}

public sealed record RunNot(RunCondition Condition) : RunCondition
{
    public override bool Test(RunRecord run) => !Condition.Test(run);
}

/// <summary>A text field (id, pipeline, display name, face) compared with a value.</summary>
public sealed record RunText(RunField Field, RunOp Op, string Value) : RunCondition
{
    public override bool Test(RunRecord run)
    {
        var v = Field switch
        {
            RunField.Id => run.Id,
            RunField.Pipeline => run.PipelineName,
            RunField.DisplayName => run.DisplayName,
            RunField.Face => run.Face,
            _ => throw new InvalidOperationException($"{Field} is not a text field"),
        };
        return Compare(v, Op, Value);
    }

    internal static bool Compare(string? v, RunOp op, string value) => op switch
    {
        RunOp.Equal => v == value,
        RunOp.NotEqual => v != value,
        RunOp.Matches => v is not null && Wildcard(value).IsMatch(v),
        RunOp.Less => string.CompareOrdinal(v, value) < 0,
        RunOp.LessOrEqual => string.CompareOrdinal(v, value) <= 0,
        RunOp.Greater => string.CompareOrdinal(v, value) > 0,
        _ => string.CompareOrdinal(v, value) >= 0,
    };

    private static Regex Wildcard(string pattern) =>
        new("^" + string.Join(".*", pattern.Split('*').Select(Regex.Escape)) + "$", RegexOptions.Singleline | RegexOptions.CultureInvariant,
            TimeSpan.FromSeconds(1));
}

/// <summary>The run's state compared (only equality makes sense).</summary>
public sealed record RunInState(RunOp Op, RunState State) : RunCondition
{
    public override bool Test(RunRecord run) => Op == RunOp.NotEqual ? run.State != State : run.State == State;
}

/// <summary>A time field compared with an instant; a run without that time (not started, not ended) never matches.</summary>
public sealed record RunTime(RunField Field, RunOp Op, DateTimeOffset Value) : RunCondition
{
    public override bool Test(RunRecord run)
    {
        DateTimeOffset? t = Field switch
        {
            RunField.CreatedAt => run.CreatedAt,
            RunField.UpdatedAt => run.UpdatedAt,
            RunField.StartedAt => run.StartedAt,
            RunField.EndedAt => run.EndedAt,
            _ => throw new InvalidOperationException($"{Field} is not a time field"),
        };
        if (t is not { } x)
        {
            return Op == RunOp.NotEqual;
        }
        return Op switch
        {
            RunOp.Equal => x == Value,
            RunOp.NotEqual => x != Value,
            RunOp.Less => x < Value,
            RunOp.LessOrEqual => x <= Value,
            RunOp.Greater => x > Value,
            _ => x >= Value,
        };
    }
}

/// <summary>A label: with a value, compared with it; without one (<see cref="RunOp.Matches"/> "*"), present at all.</summary>
public sealed record RunLabel(string Key, RunOp Op, string Value) : RunCondition
{
    public override bool Test(RunRecord run)
    {
        var has = run.Labels.TryGetValue(Key, out var v);
        if (Op == RunOp.Matches && Value == "*")
        {
            return has;
        }
        return Op == RunOp.NotEqual ? !has || v != Value : has && RunText.Compare(v, Op, Value);
    }
}

/// <summary>The order of a run list: a time field, newest (or largest) first by default.</summary>
public sealed record RunOrder(RunField Field, bool Descending = true)
{
    public static readonly RunOrder Default = new(RunField.CreatedAt);
}
