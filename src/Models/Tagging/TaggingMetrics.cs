// Ranking metrics of single-label audio tagging (the Freesound competition's MAP@k).
namespace Cochlea.Models.Tagging;

/// <summary>Mean average precision at k for one true label per clip.</summary>
public static class TaggingMetrics
{
    /// <summary>
    /// MAP@k = mean over clips of 1 / rank(true label) when the true label is among the top k predictions (rank 1..k), else 0.
    /// With a single true label per clip this is Kaggle's average precision at k. <paramref name="scores"/> is (clips, classes)
    /// row-major; ties rank by lower class index first (as a stable sort of the scores, descending).
    /// </summary>
    public static double MeanAveragePrecision(ReadOnlySpan<float> scores, ReadOnlySpan<int> labels, int classes, int k)
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "MAP@k needs at least one class.");
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be >= 1.");
        if (scores.Length != labels.Length * classes)
            throw new ArgumentException($"scores has {scores.Length} values; expected clips ({labels.Length}) x classes ({classes}).", nameof(scores));
        if (labels.Length == 0) return 0;
        double sum = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            int y = labels[i];
            if ((uint)y >= (uint)classes) throw new ArgumentOutOfRangeException(nameof(labels), y, $"label of clip {i} is not a class index in [0, {classes}).");
            var row = scores.Slice(i * classes, classes);
            int rank = Rank(row, y);
            if (rank <= k) sum += 1.0 / rank;
        }
        return sum / labels.Length;
    }

    /// <summary>1-based rank of class <paramref name="c"/> in <paramref name="row"/> sorted by score descending (ties: lower index first).</summary>
    public static int Rank(ReadOnlySpan<float> row, int c)
    {
        float s = row[c];
        int rank = 1;
        for (int j = 0; j < row.Length; j++)
            if (row[j] > s || (row[j] == s && j < c)) rank++;
        return rank;
    }

    /// <summary>The indices of the <paramref name="k"/> highest scores, best first (ties: lower index first).</summary>
    public static int[] TopK(ReadOnlySpan<float> row, int k)
    {
        k = Math.Min(k, row.Length);
        var idx = new int[row.Length];
        for (int j = 0; j < idx.Length; j++) idx[j] = j;
        var copy = row.ToArray();
        Array.Sort(idx, (a, b) => copy[a] != copy[b] ? copy[b].CompareTo(copy[a]) : a.CompareTo(b));
        return idx[..k];
    }
}
