// Best-path (greedy) CTC decoding: the most likely class per frame, repeats merged, blanks dropped.
// Fast and LM-free; the transcript is that of the single most likely alignment, which is not always
// the most likely transcript (prefix beam search sums over alignments).
namespace Cochlea.Models.Speech;

/// <summary>Greedy CTC decoding of (T, C) log-probabilities (or any per-frame scores: only the argmax matters).</summary>
public static class CtcGreedyDecoder
{
    /// <summary>
    /// Best path: <c>a_t = argmax_c x[t, c]</c> (first index on ties), then merge runs of equal labels and drop blanks.
    /// <paramref name="pathScore"/> is <c>sum_t x[t, a_t]</c>, the best path's log-probability for log-prob inputs.
    /// </summary>
    /// <param name="scores">Row-major (T, C) log-probabilities: frame t at [t * classes, (t + 1) * classes).</param>
    /// <param name="frames">T (rows used; <paramref name="scores"/> may hold more).</param>
    /// <param name="classes">C.</param>
    /// <param name="blank">The blank's class.</param>
    /// <param name="pathScore">The best path's summed score.</param>
    public static int[] DecodeLabels(ReadOnlySpan<float> scores, int frames, int classes, int blank, out double pathScore)
    {
        CheckShape(scores.Length, frames, classes, blank);
        var labels = new List<int>();
        int previous = -1;
        pathScore = 0;
        for (int t = 0; t < frames; t++)
        {
            var row = scores.Slice(t * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
            pathScore += row[best];
            if (best != blank && best != previous) labels.Add(best);
            previous = best;
        }
        return labels.ToArray();
    }

    /// <summary>Greedy transcript of one utterance's (T, C) log-probabilities, C = <see cref="Alphabet.Classes"/>.</summary>
    public static CtcHypothesis Decode(ReadOnlySpan<float> logProbs, int frames, Alphabet alphabet)
    {
        ArgumentNullException.ThrowIfNull(alphabet);
        var labels = DecodeLabels(logProbs, frames, alphabet.Classes, alphabet.Blank, out double score);
        string text = alphabet.Decode(labels);
        return new CtcHypothesis(labels, text, score, score, 0, CountWords(text));
    }

    /// <summary>Greedy transcripts of a time-major batch: <paramref name="logProbs"/> (T, B, C), sequence b using its first lengths[b] frames.</summary>
    public static IReadOnlyList<CtcHypothesis> DecodeBatch(Tensor logProbs, int[] lengths, Alphabet alphabet)
    {
        var rows = BatchRows(logProbs, lengths, alphabet.Classes, "CtcGreedyDecoder");
        return rows.Select((r, b) => Decode(r, lengths[b], alphabet)).ToArray();
    }

    /// <summary>Each sequence's (T_b, C) rows of a (T, B, C) tensor, copied out contiguous (decoders read frame by frame).</summary>
    internal static float[][] BatchRows(Tensor logProbs, int[] lengths, int classes, string who)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        ArgumentNullException.ThrowIfNull(lengths);
        if (logProbs.Rank != 3 || logProbs.Shape[2] != classes)
            throw new ArgumentException($"{who}: expected log-probs (T, B, C = {classes}), time-major, got {logProbs.Describe()}.", nameof(logProbs));
        int T = logProbs.Shape[0], B = logProbs.Shape[1];
        if (lengths.Length != B) throw new ArgumentException($"{who}: expected {B} lengths, got {lengths.Length}.", nameof(lengths));
        var all = logProbs.ToArray();
        var rows = new float[B][];
        for (int b = 0; b < B; b++)
        {
            if ((uint)lengths[b] > (uint)T) throw new ArgumentOutOfRangeException(nameof(lengths), lengths[b], $"{who}: length {lengths[b]} of sequence {b} is outside [0, T = {T}].");
            rows[b] = new float[lengths[b] * classes];
            for (int t = 0; t < lengths[b]; t++) Array.Copy(all, ((long)t * B + b) * classes, rows[b], (long)t * classes, classes);
        }
        return rows;
    }

    internal static void CheckShape(int available, int frames, int classes, int blank)
    {
        if (classes < 1 || frames < 0 || (long)frames * classes > available)
            throw new ArgumentException($"Expected (T = {frames}, C = {classes}) scores, i.e. at least {(long)frames * classes} values, got {available}.");
        if ((uint)blank >= (uint)classes)
            throw new ArgumentOutOfRangeException(nameof(blank), blank, $"The blank must be a class in [0, {classes}).");
    }

    internal static int CountWords(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
}
