using System.Globalization;

namespace Sluice.Bench.Infra;

/// <summary>Percentiles of a sample (nearest rank).</summary>
internal sealed class Stats
{
    private readonly List<double> sorted;

    public Stats(IEnumerable<double> samples)
    {
        sorted = [.. samples];
        sorted.Sort();
    }

    public int Count => sorted.Count;

    public double P(double p) => sorted.Count == 0 ? double.NaN
        : sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];

    public double P50 => P(50);

    public double P90 => P(90);

    public double P99 => P(99);

    public double Max => sorted.Count == 0 ? double.NaN : sorted[^1];

    public double Min => sorted.Count == 0 ? double.NaN : sorted[0];

    public double Mean => sorted.Count == 0 ? double.NaN : sorted.Average();

    public static string Ms(double ms) => double.IsNaN(ms) ? "-" : ms >= 100 ? F("{0:0} ms", ms) : F("{0:0.00} ms", ms);

    public static string F(string format, params object[] args) => string.Format(CultureInfo.InvariantCulture, format, args);
}
