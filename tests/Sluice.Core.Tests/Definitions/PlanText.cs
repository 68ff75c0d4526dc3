using System.Globalization;
using System.Text;
using Sluice.Core.Definitions;

namespace Sluice.Core.Tests.Definitions;

/// <summary>A canonical text form of a plan, to compare plans compiled from different sources.</summary>
internal static class PlanText
{
    public static string Describe(Plan plan)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"pipeline {plan.Name} max={plan.MaxParallelSteps} desc={plan.Description}\n");
        foreach (var p in plan.Parameters)
        {
            sb.Append(CultureInfo.InvariantCulture, $"param {p.Name} {p.Type} default={p.Default?.ToJsonString()} desc={p.Description}\n");
        }
        foreach (var s in plan.Steps)
        {
            sb.Append(CultureInfo.InvariantCulture, $"step {s.Kind} {s.Name} deps=[{string.Join(",", s.DependsOn)}] guard={s.Guard} timeout={s.Timeout} retry={s.Retry} grace={s.StopGracePeriod}");
            sb.Append(CultureInfo.InvariantCulture, $" outputs=[{string.Join(",", s.Outputs.Select(o => $"{o.Name}:{o.Type}"))}]");
            switch (s)
            {
                case ProcessStepPlan p:
                    sb.Append(CultureInfo.InvariantCulture, $" command={p.Command} args=[{string.Join("|", p.Args)}] env=[{string.Join(",", p.Env.Select(e => $"{e.Key}={e.Value}"))}] dir={p.WorkingDir}");
                    break;
                case ConditionStepPlan c:
                    sb.Append(CultureInfo.InvariantCulture, $" if={c.Condition} then=[{string.Join(",", c.Then)}] else=[{string.Join(",", c.Else)}]");
                    break;
                case FailStepPlan f:
                    sb.Append(CultureInfo.InvariantCulture, $" message={f.Message}");
                    break;
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
