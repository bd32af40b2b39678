// Side-by-side timing for comparisons: warm both, then alternate ours/anchor so drift (turbo, other
// processes on this shared 2-core box) hits both alike, and report medians.
using System.Diagnostics;

namespace Cochlea.Bench.Compare;

public static class Timing
{
    /// <summary>
    /// Median seconds of <paramref name="ours"/> and <paramref name="anchor"/> (null: ours only), alternating
    /// until about <paramref name="budgetSeconds"/> have passed and at least <paramref name="minReps"/> pairs ran.
    /// </summary>
    public static (double Ours, double? Anchor) Alternate(Action ours, Action? anchor, double budgetSeconds = 2.0,
        int minReps = 5, int maxReps = 51, int warmup = 2)
    {
        for (int i = 0; i < warmup; i++) { ours(); anchor?.Invoke(); }
        var a = new List<double>(); var b = new List<double>();
        var total = Stopwatch.StartNew();
        while (a.Count < maxReps && (a.Count < minReps || total.Elapsed.TotalSeconds < budgetSeconds))
        {
            a.Add(Time(ours));
            if (anchor is not null) b.Add(Time(anchor));
        }
        return (Median(a), anchor is null ? null : Median(b));
    }

    static double Time(Action f)
    {
        long t0 = Stopwatch.GetTimestamp();
        f();
        return Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    /// <summary>Median of <paramref name="xs"/> (sorts it in place).</summary>
    public static double Median(List<double> xs)
    {
        xs.Sort();
        int n = xs.Count;
        return n % 2 == 1 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
    }
}
