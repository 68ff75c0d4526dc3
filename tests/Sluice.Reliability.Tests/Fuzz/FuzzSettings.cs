using System.Globalization;

namespace Sluice.Reliability.Tests.Fuzz;

/// <summary>The seed and the number of cases of a fuzz run: fixed and bounded in the test command, chosen by hand for long
/// runs (<c>./build.sh fuzz --seed N --count M [--only K]</c> sets SLUICE_FUZZ_SEED, SLUICE_FUZZ_COUNT, SLUICE_FUZZ_ONLY).</summary>
public static class FuzzSettings
{
    public const int DefaultSeed = 20261201;

    public static int Seed => Int("SLUICE_FUZZ_SEED") ?? DefaultSeed;

    /// <summary>Cases per target; <paramref name="quick"/> is the bounded count the test command runs.</summary>
    public static int Count(int quick) => Int("SLUICE_FUZZ_COUNT") ?? quick;

    /// <summary>Only this case (to replay a failure), or null for all.</summary>
    public static int? Only => Int("SLUICE_FUZZ_ONLY");

    /// <summary>The cases to run: 0..count-1, or the one being replayed.</summary>
    public static IEnumerable<int> Cases(int quick) => Only is { } only ? [only] : Enumerable.Range(0, Count(quick));

    /// <summary>Each case has its own random source, so that one case replays alone (HashCode is salted per process, so
    /// the mix is spelled out).</summary>
    public static Random RandomFor(string target, int index) =>
        new(unchecked((Seed * 1_000_003) + (index * 7919) + StableHash(target)));

    /// <summary>How to run this one case again (the class filter runs case K of each target of the class; K of this target fails).</summary>
    public static string Replay(string target, int index) =>
        $"replay with: ./build.sh fuzz --seed {Seed.ToString(CultureInfo.InvariantCulture)} --only {index.ToString(CultureInfo.InvariantCulture)} --filter {(target.StartsWith("Compile_", StringComparison.Ordinal) ? "CompilerFuzzTests" : "FaceFuzzTests")}  ({target})";

    private static int StableHash(string s)
    {
        var h = 17;
        foreach (var c in s)
        {
            h = unchecked((h * 31) + c);
        }
        return h;
    }

    private static int? Int(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture) : null;
}
