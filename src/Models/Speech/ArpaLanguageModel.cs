// A word n-gram language model read from an ARPA file (the text format of SRILM and KenLM's
// lmplz): a \data\ header with the n-gram counts, then one \N-grams: section per order whose lines
// are "log10(p) w1 ... wN [log10(back-off weight)]", closed by \end\. Scored with Katz back-off:
//   p(w | h) = p*(w | h)                         when the n-gram (h, w) is listed,
//            = bow(h) * p(w | h minus its oldest word)   otherwise (bow = 1 when h is not listed).
// Words outside the vocabulary are <unk>; when the file has no <unk>, its log10 probability is
// -100 (KenLM's convention), which ranks any hypothesis with an out-of-vocabulary word last.
using System.Globalization;

namespace Cochlea.Models.Speech;

/// <summary>A back-off n-gram model from an ARPA file; probabilities are log10 as in the file.</summary>
public sealed class ArpaLanguageModel
{
    /// <summary>Sentence start token.</summary>
    public const string SentenceStart = "<s>";
    /// <summary>Sentence end token.</summary>
    public const string SentenceEnd = "</s>";
    /// <summary>Unknown-word token.</summary>
    public const string Unknown = "<unk>";
    /// <summary>log10 probability of an unknown word when the model has no &lt;unk&gt; unigram (KenLM's value).</summary>
    public const double MissingUnknownLog10 = -100.0;

    // grams[n - 1]: "w1 w2 ... wn" (single spaces) -> (log10 p, log10 back-off)
    readonly Dictionary<string, (float Prob, float Backoff)>[] _grams;

    ArpaLanguageModel(Dictionary<string, (float, float)>[] grams) => _grams = grams;

    /// <summary>The highest n-gram order N.</summary>
    public int Order => _grams.Length;

    /// <summary>Number of n-grams per order (index 0 = unigrams).</summary>
    public IReadOnlyList<int> Counts => _grams.Select(g => g.Count).ToArray();

    /// <summary>True when <paramref name="word"/> is a unigram of the model.</summary>
    public bool Contains(string word) => _grams[0].ContainsKey(word);

    /// <summary>Reads an ARPA file.</summary>
    public static ArpaLanguageModel Load(string path)
    {
        using var reader = new StreamReader(path);
        return Parse(reader, path);
    }

    /// <summary>Parses ARPA text; <paramref name="source"/> names it in error messages.</summary>
    public static ArpaLanguageModel Parse(TextReader reader, string source = "ARPA text")
    {
        ArgumentNullException.ThrowIfNull(reader);
        int lineNo = 0;
        string? line;
        string? Next() { lineNo++; return reader.ReadLine(); }
        Exception Bad(string why) => new InvalidDataException($"{source}, line {lineNo}: {why}");

        // Header: skip anything before \data\, then "ngram N=count" lines.
        while ((line = Next()) is not null && line.Trim() != "\\data\\") { }
        if (line is null) throw Bad("no \\data\\ section; not an ARPA file.");
        var declared = new List<int>();
        while ((line = Next()) is not null)
        {
            string s = line.Trim();
            if (s.Length == 0) { if (declared.Count > 0) break; continue; }
            if (!s.StartsWith("ngram ", StringComparison.Ordinal)) break;
            var parts = s[6..].Split('=');
            if (parts.Length != 2 || !int.TryParse(parts[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n)
                || !int.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int count))
                throw Bad($"expected \"ngram N=count\", got \"{s}\".");
            if (n != declared.Count + 1) throw Bad($"expected the count of {declared.Count + 1}-grams, got {n}-grams.");
            declared.Add(count);
        }
        if (declared.Count == 0) throw Bad("the \\data\\ section declares no n-gram counts.");

        var grams = new Dictionary<string, (float, float)>[declared.Count];
        int order = 0;   // the section being read
        while (line is not null)
        {
            string s = line.Trim();
            if (s == "\\end\\") break;
            if (s.Length == 0) { line = Next(); continue; }
            if (s.StartsWith('\\'))
            {
                if (!s.EndsWith("-grams:", StringComparison.Ordinal) || !int.TryParse(s[1..^7], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                    throw Bad($"expected a section header like \\2-grams:, got \"{s}\".");
                if (n < 1 || n > declared.Count) throw Bad($"section \\{n}-grams: but the header declares orders 1..{declared.Count}.");
                if (order > 0 && grams[order - 1].Count != declared[order - 1])
                    throw Bad($"the \\{order}-grams: section has {grams[order - 1].Count} entries, the header declares {declared[order - 1]}.");
                order = n;
                grams[n - 1] = new Dictionary<string, (float, float)>(declared[n - 1], StringComparer.Ordinal);
            }
            else
            {
                if (order == 0) throw Bad($"n-gram line before any \\N-grams: section: \"{s}\".");
                var tok = s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (tok.Length != order + 1 && tok.Length != order + 2)
                    throw Bad($"a {order}-gram line needs log10(p), {order} word(s) and an optional back-off weight, got \"{s}\".");
                float p = ParseLog(tok[0]) ?? throw Bad($"bad log10 probability \"{tok[0]}\".");
                float bow = 0f;
                if (tok.Length == order + 2) bow = ParseLog(tok[^1]) ?? throw Bad($"bad log10 back-off weight \"{tok[^1]}\".");
                grams[order - 1][string.Join(' ', tok, 1, order)] = (p, bow);
            }
            line = Next();
        }
        if (line is null) throw Bad("missing \\end\\.");
        for (int n = 0; n < declared.Count; n++)
        {
            if (grams[n] is null) throw new InvalidDataException($"{source}: no \\{n + 1}-grams: section although the header declares {declared[n]}.");
            if (grams[n].Count != declared[n]) throw new InvalidDataException($"{source}: the \\{n + 1}-grams: section has {grams[n].Count} entries, the header declares {declared[n]}.");
        }
        return new ArpaLanguageModel(grams);
    }

    static float? ParseLog(string s) =>
        float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) ? v
        : s is "-inf" or "-Infinity" ? float.NegativeInfinity : null;

    /// <summary>
    /// log10 p(word | context) by Katz back-off over the last N - 1 words of <paramref name="context"/>
    /// (oldest first; start a sentence with <see cref="SentenceStart"/>). Unknown words count as &lt;unk&gt;.
    /// </summary>
    public double Log10Prob(IReadOnlyList<string> context, string word)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(word);
        int h = Math.Min(context.Count, Order - 1);
        var words = new string[h + 1];
        for (int i = 0; i < h; i++) words[i] = Known(context[context.Count - h + i]);
        words[h] = Known(word);
        double backoff = 0;
        // Longest history first: (h, w) listed -> its probability; else add bow(h) and drop the oldest word.
        for (int start = 0; start <= h; start++)
        {
            int n = h + 1 - start;
            if (_grams[n - 1].TryGetValue(string.Join(' ', words, start, n), out var e)) return backoff + e.Prob;
            if (n > 1 && _grams[n - 2].TryGetValue(string.Join(' ', words, start, n - 1), out var hist)) backoff += hist.Backoff;
        }
        return backoff + MissingUnknownLog10;   // only reached for <unk> when the model lists none
    }

    /// <summary>Natural-log <see cref="Log10Prob"/>: <c>ln p = log10 p * ln 10</c> (the unit of acoustic scores).</summary>
    public double LogProb(IReadOnlyList<string> context, string word) => Log10Prob(context, word) * Math.Log(10);

    /// <summary>
    /// log10 probability of a whole sentence: <c>sum_i log10 p(w_i | &lt;s&gt; w_1 .. w_{i-1})</c>, plus the end
    /// <c>log10 p(&lt;/s&gt; | ...)</c> when <paramref name="withEnd"/> (as KenLM's query tool scores a line).
    /// </summary>
    public double ScoreSentence(string sentence, bool withEnd = true)
    {
        ArgumentNullException.ThrowIfNull(sentence);
        var context = new List<string> { SentenceStart };
        double total = 0;
        foreach (var w in sentence.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            total += Log10Prob(context, w);
            context.Add(w);
        }
        if (withEnd) total += Log10Prob(context, SentenceEnd);
        return total;
    }

    string Known(string w) => _grams[0].ContainsKey(w) ? w : Unknown;
}
