// The pairwise walk of a mel filterbank (precomputed once per kernel): in a standard triangular bank each bin lies in at most
// two filters and each filter overlaps only its neighbours, so the mels can be walked in order with two live accumulators.
// The overlap of mel m and mel m+1 loads each spectrum row once and feeds two independent multiply-add chains; the one-chain
// loop of MelSink instead runs one dependent chain per mel, latency-bound (~4 cycles per multiply-add). Each mel still sums
// its bins in ascending order from 0 with the same multiply-adds, so the result is bitwise the one-chain loop's.
namespace Cochlea.Kernels.Audio;

/// <summary>
/// One step of the walk, for mel <see cref="Mel"/> (filters with no weights are not steps). Its partial sum over the bins it
/// shares with the previous step's mel arrives from that step; this step adds its solo bins [Bin, Bin + Solo) (weights
/// Values[W..]), then the bins it shares with the next step's mel, [Bin + Solo, Bin + Solo + Pair), with its weights
/// Values[W + Solo..] and, into a fresh partial of the next mel, that mel's weights Values[NextW..].
/// </summary>
internal readonly record struct MelPairStep(int Mel, int Bin, int Solo, int Pair, int W, int NextW);

internal static class MelPairSchedule
{
    /// <summary>
    /// The walk of <paramref name="bank"/>, or null when the bank does not allow it: over its non-empty filters in order,
    /// starts and ends (support [s, e)) must not decrease, and a filter's support must end by the start of the filter two
    /// further on (no bin in three filters). <paramref name="empty"/> receives the filters with no weights (their mel is 0).
    /// </summary>
    public static MelPairStep[]? TryCreate(MelFilterbank bank, out int[] empty)
    {
        ReadOnlySpan<int> start = bank.Start, length = bank.Length, offset = bank.Offset;
        var live = new List<int>(bank.Mels);
        var none = new List<int>();
        for (int m = 0; m < bank.Mels; m++) (length[m] > 0 ? live : none).Add(m);
        empty = none.ToArray();
        var end = new int[bank.Mels];
        for (int m = 0; m < bank.Mels; m++) end[m] = start[m] + length[m];
        for (int i = 1; i < live.Count; i++)
        {
            int a = live[i - 1], b = live[i];
            if (start[b] < start[a] || end[b] < end[a]) return null;
            if (i >= 2 && end[live[i - 2]] > start[b]) return null;
        }
        var steps = new MelPairStep[live.Count];
        for (int i = 0; i < live.Count; i++)
        {
            int m = live[i];
            // Bins below lo were summed by the previous step's pair loop; the checks above make lo <= hi <= end[m].
            int lo = i > 0 ? Math.Max(start[m], end[live[i - 1]]) : start[m];
            bool last = i == live.Count - 1;
            int next = last ? -1 : live[i + 1];
            int hi = last ? end[m] : Math.Min(start[next], end[m]);
            int pair = last ? 0 : Math.Max(0, end[m] - start[next]);
            steps[i] = new MelPairStep(m, lo, hi - lo, pair, offset[m] + lo - start[m], last ? 0 : offset[next]);
        }
        return steps;
    }
}
