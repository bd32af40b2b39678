// Word and character error rates by Levenshtein alignment, with the edit counts split into
// substitutions, deletions and insertions: WER = (S + D + I) / N over words, CER the same over
// characters (spaces included, as DeepSpeech's edit distance), N the reference length.
namespace Cochlea.Models.Speech;

/// <summary>
/// The edits of a minimum-cost alignment of a hypothesis to a reference (unit costs).
/// <see cref="Rate"/> = <c>(S + D + I) / N</c>; with an empty reference N counts as 1 (so an empty pair scores 0 and
/// any inserted token 1 each, instead of a division by zero).
/// </summary>
/// <param name="Substitutions">S: reference tokens replaced.</param>
/// <param name="Deletions">D: reference tokens missing from the hypothesis.</param>
/// <param name="Insertions">I: hypothesis tokens not in the reference.</param>
/// <param name="ReferenceLength">N: reference tokens.</param>
public readonly record struct EditCounts(int Substitutions, int Deletions, int Insertions, int ReferenceLength)
{
    /// <summary>S + D + I, the Levenshtein distance.</summary>
    public int Errors => Substitutions + Deletions + Insertions;

    /// <summary>(S + D + I) / max(N, 1).</summary>
    public double Rate => (double)Errors / Math.Max(ReferenceLength, 1);

    /// <summary>Sum of two counts (corpus totals).</summary>
    public static EditCounts operator +(EditCounts a, EditCounts b) =>
        new(a.Substitutions + b.Substitutions, a.Deletions + b.Deletions, a.Insertions + b.Insertions, a.ReferenceLength + b.ReferenceLength);
}

/// <summary>Levenshtein alignment, WER and CER.</summary>
public static class ErrorRate
{
    /// <summary>
    /// Minimum edit alignment of <paramref name="hypothesis"/> to <paramref name="reference"/> by dynamic programming
    /// (O(N M) time, O(N M) bytes for the back-trace). Among alignments of equal cost the back-trace prefers
    /// match/substitution, then deletion, then insertion, so the S/D/I split is deterministic.
    /// </summary>
    public static EditCounts Align<T>(ReadOnlySpan<T> reference, ReadOnlySpan<T> hypothesis) where T : IEquatable<T>
    {
        int n = reference.Length, m = hypothesis.Length;
        // d[i, j] = distance between reference[..i] and hypothesis[..j]; move[i, j] = the step that reached it.
        var d = new int[n + 1, m + 1];
        var move = new byte[n + 1, m + 1];   // 0 match, 1 substitution, 2 deletion, 3 insertion
        for (int i = 1; i <= n; i++) { d[i, 0] = i; move[i, 0] = 2; }
        for (int j = 1; j <= m; j++) { d[0, j] = j; move[0, j] = 3; }
        for (int i = 1; i <= n; i++)
            for (int j = 1; j <= m; j++)
            {
                bool same = reference[i - 1].Equals(hypothesis[j - 1]);
                int best = d[i - 1, j - 1] + (same ? 0 : 1);
                byte how = same ? (byte)0 : (byte)1;
                if (d[i - 1, j] + 1 < best) { best = d[i - 1, j] + 1; how = 2; }
                if (d[i, j - 1] + 1 < best) { best = d[i, j - 1] + 1; how = 3; }
                d[i, j] = best;
                move[i, j] = how;
            }
        int s = 0, del = 0, ins = 0;
        for (int i = n, j = m; i > 0 || j > 0;)
        {
            switch (move[i, j])
            {
                case 0: i--; j--; break;
                case 1: s++; i--; j--; break;
                case 2: del++; i--; break;
                default: ins++; j--; break;
            }
        }
        return new EditCounts(s, del, ins, n);
    }

    /// <summary>Word edits: both strings split on whitespace (runs of spaces count once).</summary>
    public static EditCounts Words(string reference, string hypothesis) =>
        Align<string>(SplitWords(reference), SplitWords(hypothesis));

    /// <summary>Character edits over the strings as given (spaces are characters).</summary>
    public static EditCounts Chars(string reference, string hypothesis)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(hypothesis);
        return Align<char>(reference, hypothesis);
    }

    /// <summary>Word error rate <c>(S + D + I) / N_words</c>.</summary>
    public static double Wer(string reference, string hypothesis) => Words(reference, hypothesis).Rate;

    /// <summary>Character error rate <c>(S + D + I) / N_chars</c>.</summary>
    public static double Cer(string reference, string hypothesis) => Chars(reference, hypothesis).Rate;

    static string[] SplitWords(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
    }
}
