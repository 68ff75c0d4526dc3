using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;

namespace Sluice.Core.Engine;

/// <summary>A step of a run as the engine schedules it: a step of the plan, or a step of one iteration of a for-each.</summary>
internal sealed class Node
{
    /// <summary>The name of its step record (for an iteration's step: <c>f[i].s</c>).</summary>
    public required string Name { get; init; }

    /// <summary>The plan step it is (for an iteration's step, the body step it was made from).</summary>
    public required StepPlan Plan { get; init; }

    /// <summary>The iteration it belongs to; null for a step of the plan itself.</summary>
    public Frame? Frame { get; init; }

    /// <summary>Names of the step records it waits for.</summary>
    public required IReadOnlyList<string> DependsOn { get; init; }

    /// <summary>The step record name of its group; null at the top level.</summary>
    public string? Group { get; init; }

    public bool IsGroup => Plan is GroupStepPlan;

    /// <summary>Its position in the run's scheduling order.</summary>
    public int Index { get; set; }

    // Scheduling state kept by the run's writer (RunActor). Terminal states never change, so these only grow; they are
    // reset whenever the writer rebuilds its index of what to look at.

    /// <summary>How many of <see cref="DependsOn"/>, from the first, are known to have ended.</summary>
    public int DepsEnded { get; set; }

    /// <summary>One of the ended dependencies was skipped.</summary>
    public bool DepSkipped { get; set; }

    /// <summary>One of the ended dependencies failed, was stopped or never started.</summary>
    public bool DepBlocked { get; set; }

    /// <summary>For a group: how many of its members, from the first, are known to have ended.</summary>
    public int MembersEnded { get; set; }

    /// <summary>The limited for-each it waits for room in (its iteration has not begun and that loop has none); null if none.</summary>
    public string? WaitsFor { get; set; }

    /// <summary>A step that runs something outside the engine (a process, a call, a callback), as opposed to a group.</summary>
    public bool IsLive => Plan is not GroupStepPlan;

    /// <summary>Resolves a step name as written in this node's plan step to a step record name.</summary>
    public string Resolve(string name) => Frame?.Resolve(name) ?? name;
}

/// <summary>One iteration of a for-each: its item, and how the body's step names map to step record names.</summary>
internal sealed class Frame
{
    public required string ForEach { get; init; }

    /// <summary>The plan name of the for-each step (what an <see cref="ItemRef"/> names).</summary>
    public required string Loop { get; init; }

    public required int Index { get; init; }

    public required JsonNode? Item { get; init; }

    public required IReadOnlySet<string> Locals { get; init; }

    public Frame? Parent { get; init; }

    public int? MaxParallel { get; init; }

    // For an iteration of a limited for-each (MaxParallel set), kept by the run's writer: the iteration is open (counts
    // against its loop's limit) while some of its steps have begun and some have not ended.

    /// <summary>Steps in the iteration (nested ones included) that are not Pending.</summary>
    public int Begun { get; set; }

    /// <summary>Steps in the iteration (nested ones included) that have not ended.</summary>
    public int Unfinished { get; set; }

    public bool IsOpen => Begun > 0 && Unfinished > 0;

    /// <summary>The steps in the iteration, nested ones included (kept for limited for-each iterations only).</summary>
    public List<Node> Nodes { get; } = [];

    public string Prefix => $"{ForEach}[{Index}].";

    public string Resolve(string name) => Locals.Contains(name) ? Prefix + name : Parent?.Resolve(name) ?? name;

    public JsonNode? ItemOf(string loop) =>
        Loop == loop ? Item : Parent is { } p ? p.ItemOf(loop) : throw Api.SluiceException.Invalid($"no item of for-each '{loop}' here");
}

/// <summary>Every step of one run: those of the plan, and those made for the iterations of for-each groups as they start.</summary>
internal sealed class RunGraph
{
    /// <summary>Most steps one run may have, iterations included (nested for-each groups multiply).</summary>
    public const int MaxSteps = 50_000;

    private readonly Dictionary<string, Node> byName = new(StringComparer.Ordinal);
    private readonly List<Node> order = [];
    private readonly Dictionary<string, List<Node>> members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Node>> dependents = new(StringComparer.Ordinal);

    public RunGraph(Plan plan)
    {
        foreach (var s in plan.Steps)
        {
            Add(new Node { Name = s.Name, Plan = s, DependsOn = s.DependsOn, Group = s.Group });
        }
    }

    /// <summary>In scheduling order (a topological one); grows while iterations are made.</summary>
    public IReadOnlyList<Node> Order => order;

    public Node? Find(string name) => byName.GetValueOrDefault(name);

    /// <summary>The steps directly in a group.</summary>
    public IReadOnlyList<Node> MembersOf(string group) => members.TryGetValue(group, out var list) ? list : [];

    /// <summary>The steps that depend directly on a step.</summary>
    public IReadOnlyList<Node> DependentsOf(string step) => dependents.TryGetValue(step, out var list) ? list : [];

    /// <summary>Makes the steps of every iteration of a for-each node; returns them in order.</summary>
    public List<Node> Expand(Node forEach, JsonArray items)
    {
        var spec = ((GroupStepPlan)forEach.Plan).ForEach!;
        var locals = spec.Body.Select(b => b.Name).ToHashSet(StringComparer.Ordinal);
        var made = new List<Node>();
        for (var i = 0; i < items.Count; i++)
        {
            var frame = new Frame
            {
                ForEach = forEach.Name, Loop = forEach.Plan.Name, Index = i, Item = items[i], Locals = locals, Parent = forEach.Frame,
                MaxParallel = spec.MaxParallel,
            };
            foreach (var b in spec.Body)
            {
                var n = new Node
                {
                    Name = frame.Prefix + b.Name, Plan = b, Frame = frame, DependsOn = [.. b.DependsOn.Select(frame.Resolve)],
                    Group = b.Group is null ? forEach.Name : frame.Resolve(b.Group),
                };
                Add(n);
                made.Add(n);
                for (var f = frame; f is not null; f = f.Parent)
                {
                    if (f.MaxParallel is not null)
                    {
                        f.Nodes.Add(n);
                    }
                }
            }
        }
        return made;
    }

    /// <summary>How many steps expanding <paramref name="forEach"/> over <paramref name="count"/> items makes.</summary>
    public static long StepsFor(Node forEach, int count) => (long)((GroupStepPlan)forEach.Plan).ForEach!.Body.Count * count;

    /// <summary>After a restart: makes the iterations of every for-each that had started (its items are in its record).</summary>
    public void Restore(IReadOnlyDictionary<string, StepRecord> records)
    {
        for (var i = 0; i < order.Count; i++)
        {
            var n = order[i];
            if (n.Plan is GroupStepPlan { ForEach: not null } && records.TryGetValue(n.Name, out var r)
                && r.ExecutorData?["items"] is JsonArray items)
            {
                Expand(n, (JsonArray)items.DeepClone());
            }
        }
    }

    private void Add(Node n)
    {
        n.Index = order.Count;
        byName[n.Name] = n;
        order.Add(n);
        if (n.Group is { } g)
        {
            ListOf(members, g).Add(n);
        }
        foreach (var d in n.DependsOn)
        {
            ListOf(dependents, d).Add(n);
        }
    }

    private static List<Node> ListOf(Dictionary<string, List<Node>> map, string key)
    {
        if (!map.TryGetValue(key, out var list))
        {
            map[key] = list = [];
        }
        return list;
    }
}
