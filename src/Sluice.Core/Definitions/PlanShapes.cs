using System.Globalization;

namespace Sluice.Core.Definitions;

/// <summary>What a run's plan says about one of its step records (<see cref="Name"/>), in step record names: the plan
/// step it was made from, the steps it waits for, the condition that guards it and the group it belongs to. For an
/// iteration's step (<c>f[3].s</c>) the plan step is the body step <c>s</c>, and its dependencies, guard and group are
/// those of iteration 3 (<c>f[3].t</c>; a body step outside any nested group belongs to the for-each <c>f</c>).</summary>
public sealed record StepShape(string Name, StepPlan Plan, IReadOnlyList<string> DependsOn, Guard? Guard, string? Group)
{
    /// <summary>The for-each whose iteration made this step (its step record name); null for a step of the plan itself.</summary>
    public string? ForEach { get; init; }

    /// <summary>The iteration of <see cref="ForEach"/> (from 0); null for a step of the plan itself, and for the body
    /// step of every iteration (<c>f[*].s</c>).</summary>
    public int? Iteration { get; init; }
}

/// <summary>Looks up step records in a plan by name, iteration steps included, without walking the plan for each one.
/// Not thread-safe: one per use (building it reads the plan's top level once; a for-each body is indexed when first met).</summary>
public sealed class PlanShapes
{
    private readonly Plan plan;
    private readonly Dictionary<string, StepPlan> top;
    private readonly Dictionary<ForEachSpec, Dictionary<string, StepPlan>> bodies = new(ReferenceEqualityComparer.Instance);

    public PlanShapes(Plan plan)
    {
        this.plan = plan;
        top = new Dictionary<string, StepPlan>(plan.Steps.Count, StringComparer.Ordinal);
        foreach (var s in plan.Steps)
        {
            top.TryAdd(s.Name, s);
        }
    }

    /// <summary>Every step the plan may make, a for-each's body once for all its iterations (<c>f[*].s</c>, nested
    /// loops <c>f[*].g[*].s</c>), in plan order with each body after its for-each.</summary>
    public IEnumerable<StepShape> Outline()
    {
        var names = new List<string>();
        void Walk(IReadOnlyList<StepPlan> steps, string prefix)
        {
            foreach (var s in steps)
            {
                names.Add(prefix + s.Name);
                if (s is GroupStepPlan { ForEach: { } spec })
                {
                    Walk(spec.Body, $"{prefix}{s.Name}[*].");
                }
            }
        }
        Walk(plan.Steps, "");
        foreach (var n in names)
        {
            yield return Describe(n)!;
        }
    }

    /// <summary>The shape of the step record <paramref name="name"/>; null when the plan makes no such step. An iteration
    /// written <c>*</c> (<c>f[*].s</c>) stands for every iteration: the names it gives are written the same way.</summary>
    public StepShape? Describe(string name)
    {
        if (name.IndexOf('[') < 0)
        {
            return top.TryGetValue(name, out var p) ? new StepShape(name, p, p.DependsOn, p.Guard, p.Group) : null;
        }
        // f[i].rest: f is a for-each of the current scope, rest a step of its body in iteration i (nested loops repeat)
        var scopes = new List<(string Prefix, Dictionary<string, StepPlan> Locals)>(2);
        var current = top;
        var pos = 0;
        string? forEach = null;
        int? iteration = null;
        while (true)
        {
            var open = name.IndexOf('[', pos);
            if (open < 0)
            {
                break;
            }
            var close = name.IndexOf("].", open, StringComparison.Ordinal);
            if (close < 0 || !current.TryGetValue(name[pos..open], out var loop) || loop is not GroupStepPlan { ForEach: { } spec })
            {
                return null;
            }
            var index = name.AsSpan(open + 1, close - open - 1);
            if (index is "*")
            {
                iteration = null;
            }
            else if (int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out var i))
            {
                iteration = i;
            }
            else
            {
                return null;
            }
            forEach = name[..open];
            scopes.Add((name[..(close + 2)], current = BodyOf(spec)));
            pos = close + 2;
        }
        if (!current.TryGetValue(name[pos..], out var step))
        {
            return null;
        }
        string Resolve(string local)
        {
            for (var i = scopes.Count - 1; i >= 0; i--)
            {
                if (scopes[i].Locals.ContainsKey(local))
                {
                    return scopes[i].Prefix + local;
                }
            }
            return local;
        }
        var deps = new string[step.DependsOn.Count];
        for (var i = 0; i < deps.Length; i++)
        {
            deps[i] = Resolve(step.DependsOn[i]);
        }
        var guard = step.Guard is { } g ? g with { ConditionStep = Resolve(g.ConditionStep) } : null;
        var group = step.Group is { } sg ? Resolve(sg) : forEach;
        return new StepShape(name, step, deps, guard, group) { ForEach = forEach, Iteration = iteration };
    }

    private Dictionary<string, StepPlan> BodyOf(ForEachSpec spec)
    {
        if (!bodies.TryGetValue(spec, out var body))
        {
            body = new Dictionary<string, StepPlan>(spec.Body.Count, StringComparer.Ordinal);
            foreach (var b in spec.Body)
            {
                body.TryAdd(b.Name, b);
            }
            bodies[spec] = body;
        }
        return body;
    }
}
