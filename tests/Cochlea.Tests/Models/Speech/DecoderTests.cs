// CTC decoders: greedy on hand-built log-probs; prefix beam search against brute-force enumeration of
// every alignment (the summed probability of each transcript); the ARPA language model (parsing, Katz
// back-off, <unk>) and its effect on the ranking; hot-word boosts; the alphabet.
using Cochlea.Models.Speech;
using NUnit.Framework;

namespace Cochlea.Tests.Models.Speech;

public class CtcDecoderTests
{
    /// <summary>(T, C) log-probs with the given class probabilities per frame (rows normalised).</summary>
    internal static float[] Frames(int classes, params (int Label, double P)[][] frames)
    {
        var lp = new float[frames.Length * classes];
        for (int t = 0; t < frames.Length; t++)
        {
            var p = new double[classes];
            double rest = 1 - frames[t].Sum(x => x.P);
            for (int c = 0; c < classes; c++) p[c] = rest / (classes - frames[t].Length);
            foreach (var (l, pr) in frames[t]) p[l] = pr;
            for (int c = 0; c < classes; c++) lp[t * classes + c] = (float)Math.Log(p[c]);
        }
        return lp;
    }

    static float[] RandomLogProbs(Random rng, int frames, int classes, double scale)
    {
        var lp = new float[frames * classes];
        for (int t = 0; t < frames; t++)
        {
            var z = Enumerable.Range(0, classes).Select(_ => scale * (rng.NextDouble() * 2 - 1)).ToArray();
            double lse = Math.Log(z.Sum(Math.Exp));
            for (int c = 0; c < classes; c++) lp[t * classes + c] = (float)(z[c] - lse);
        }
        return lp;
    }

    [Test]
    public void AlphabetMapsSymbolsAroundTheBlank()
    {
        var ds = Alphabet.DeepSpeech;
        Assert.That(ds.Classes, Is.EqualTo(29));
        Assert.That(ds.Blank, Is.EqualTo(28));
        Assert.That(ds.SpaceLabel, Is.EqualTo(0));
        Assert.That(ds.Encode("a z'"), Is.EqualTo(new[] { 1, 0, 26, 27 }));
        Assert.That(ds.Decode([8, 9]), Is.EqualTo("hi"));
        var first = new Alphabet("ab ", blank: 0);
        Assert.That(first.Encode("ba "), Is.EqualTo(new[] { 2, 1, 3 }));
        Assert.That(first[3], Is.EqualTo(' '));
        Assert.That(Assert.Throws<ArgumentException>(() => ds.Encode("hi!"))!.Message, Does.Contain("'!'").And.Contain("position 2"));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = ds[28]);
        Assert.Throws<ArgumentException>(() => _ = new Alphabet("aba"));
    }

    [Test]
    public void GreedyTakesTheBestPathMergesRepeatsAndDropsBlanks()
    {
        var abc = new Alphabet("ab ");   // a=0 b=1 space=2 blank=3
        // Best path: a a _ a b b ' ' _ b  ->  "aab b"
        int[] path = [0, 0, 3, 0, 1, 1, 2, 3, 1];
        var lp = Frames(4, path.Select(l => new[] { (l, 0.7) }).ToArray());
        var h = CtcGreedyDecoder.Decode(lp, path.Length, abc);
        Assert.That(h.Text, Is.EqualTo("aab b"));
        Assert.That(h.Labels, Is.EqualTo(new[] { 0, 0, 1, 2, 1 }));
        Assert.That(h.Words, Is.EqualTo(2));
        Assert.That(h.Score, Is.EqualTo(path.Length * Math.Log(0.7)).Within(1e-5));
        // Only the first `frames` rows are read.
        Assert.That(CtcGreedyDecoder.Decode(lp, 4, abc).Text, Is.EqualTo("aa"));
        // Blank first.
        var blankFirst = new Alphabet("ab ", blank: 0);
        var lp0 = Frames(4, [[(1, 0.9)], [(0, 0.9)], [(2, 0.9)], [(2, 0.9)]]);
        Assert.That(CtcGreedyDecoder.Decode(lp0, 4, blankFirst).Text, Is.EqualTo("ab"));
    }

    [Test]
    public void GreedyDecodesATimeMajorBatchWithLengths()
    {
        var abc = new Alphabet("ab ");
        int T = 3, B = 2, C = 4;
        var a = Frames(C, [(0, 0.9)], [(3, 0.9)], [(0, 0.9)]);   // "aa"
        var b = Frames(C, [(1, 0.9)], [(1, 0.9)], [(0, 0.9)]);   // "b" in 2 frames
        var x = new float[T * B * C];
        for (int t = 0; t < T; t++) { Array.Copy(a, t * C, x, (t * B) * C, C); Array.Copy(b, t * C, x, (t * B + 1) * C, C); }
        using var lp = Tensor.FromArray(x, T, B, C);
        var hs = CtcGreedyDecoder.DecodeBatch(lp, [3, 2], abc);
        Assert.That(hs.Select(h => h.Text), Is.EqualTo(new[] { "aa", "b" }));
    }

    /// <summary>Every transcript's total probability by summing over all C^T alignments.</summary>
    static Dictionary<string, double> BruteForce(float[] lp, int T, int C, int blank)
    {
        var totals = new Dictionary<string, double>();
        var a = new int[T];
        for (long code = 0; code < (long)Math.Pow(C, T); code++)
        {
            long x = code;
            double logp = 0;
            for (int t = 0; t < T; t++) { a[t] = (int)(x % C); x /= C; logp += lp[t * C + a[t]]; }
            var key = new List<int>();
            for (int t = 0; t < T; t++) if (a[t] != blank && (t == 0 || a[t] != a[t - 1])) key.Add(a[t]);
            string k = string.Join(",", key);
            totals[k] = totals.GetValueOrDefault(k) + Math.Exp(logp);
        }
        return totals;
    }

    [Test]
    public void BeamSearchFindsTheMostProbableTranscriptsOfBruteForce()
    {
        var rng = new Random(17);
        var alphabet = new Alphabet("ab ");
        int C = alphabet.Classes;
        foreach (int T in new[] { 1, 3, 5, 6 })
            foreach (double scale in new[] { 1.0, 3.0 })
            {
                var lp = RandomLogProbs(rng, T, C, scale);
                var exact = BruteForce(lp, T, C, alphabet.Blank).OrderByDescending(kv => kv.Value).ToArray();
                // A beam wider than the number of prefixes keeps everything: its sums are exact.
                var decoder = new CtcBeamSearchDecoder(alphabet, beamWidth: 1 << 12);
                var top = decoder.Decode(lp, T, topN: 5);
                for (int i = 0; i < top.Count; i++)
                {
                    string what = $"T={T} scale={scale} rank {i}";
                    Assert.That(top[i].AcousticScore, Is.EqualTo(Math.Log(exact[i].Value)).Within(1e-6), what);
                    Assert.That(top[i].Score, Is.EqualTo(top[i].AcousticScore), what + ": no LM, no boost");
                    Assert.That(string.Join(",", top[i].Labels), Is.EqualTo(exact[i].Key), what);
                }
                // A narrow beam is an approximation: whatever it returns, the probability it reports for its transcript
                // sums a subset of that transcript's alignments, so it never exceeds the exact total.
                var exactByKey = exact.ToDictionary(kv => kv.Key, kv => kv.Value);
                foreach (var h in new CtcBeamSearchDecoder(alphabet, beamWidth: 2).Decode(lp, T, topN: 2))
                    Assert.That(h.AcousticScore, Is.LessThanOrEqualTo(Math.Log(exactByKey[string.Join(",", h.Labels)]) + 1e-9), $"T={T} beam 2");
            }
    }

    [Test]
    public void BeamSearchPrefersTheTranscriptWithMoreAlignmentsOverTheBestPath()
    {
        // Frames: a 0.4 / blank 0.6, three times. Best path: blank blank blank (""), p = 0.216.
        // But "a" collects 6 alignments (a__, _a_, __a, aa_, _aa, aaa): p = 0.688; "aa" only a_a: 0.096.
        var alphabet = new Alphabet("ab");   // a=0 b=1 blank=2
        var lp = Frames(3, [(0, 0.4), (2, 0.6)], [(0, 0.4), (2, 0.6)], [(0, 0.4), (2, 0.6)]);
        var greedy = CtcGreedyDecoder.Decode(lp, 3, alphabet);
        Assert.That(greedy.Text, Is.EqualTo(""));
        var beam = new CtcBeamSearchDecoder(alphabet, beamWidth: 10).Decode(lp, 3, topN: 3);
        double pa = 0.4 * 0.6 * 0.6 * 3 + 0.4 * 0.4 * 0.6 * 2 + 0.4 * 0.4 * 0.4;
        Assert.That(beam[0].Text, Is.EqualTo("a"));
        Assert.That(beam[0].AcousticScore, Is.EqualTo(Math.Log(pa)).Within(1e-6));
        Assert.That(beam.Select(h => h.Text), Is.EqualTo(new[] { "a", "", "aa" }));
        Assert.That(beam[2].AcousticScore, Is.EqualTo(Math.Log(0.4 * 0.6 * 0.4)).Within(1e-6));
    }

    [Test]
    public void PruningKeepsTheResultOnConfidentFrames()
    {
        var rng = new Random(3);
        var alphabet = Alphabet.DeepSpeech;
        var text = alphabet.Encode("she had your dark suit");
        var path = new List<int>();
        foreach (var l in text) { path.Add(l); path.Add(l); path.Add(alphabet.Blank); }
        var lp = new float[path.Count * alphabet.Classes];
        for (int t = 0; t < path.Count; t++)
        {
            var z = Enumerable.Range(0, alphabet.Classes).Select(c => rng.NextDouble() + (c == path[t] ? 6 : 0)).ToArray();
            double lse = Math.Log(z.Sum(Math.Exp));
            for (int c = 0; c < alphabet.Classes; c++) lp[t * alphabet.Classes + c] = (float)(z[c] - lse);
        }
        var full = new CtcBeamSearchDecoder(alphabet, beamWidth: 16).Decode(lp, path.Count)[0];
        var pruned = new CtcBeamSearchDecoder(alphabet, beamWidth: 16) { PruneLogProb = Math.Log(1e-3) }.Decode(lp, path.Count)[0];
        Assert.That(full.Text, Is.EqualTo("she had your dark suit"));
        Assert.That(pruned.Text, Is.EqualTo(full.Text));
        Assert.That(pruned.AcousticScore, Is.EqualTo(full.AcousticScore).Within(1e-2));
        Assert.That(CtcGreedyDecoder.Decode(lp, path.Count, alphabet).Text, Is.EqualTo(full.Text));
    }
}

public class LanguageModelDecoderTests
{
    const string Bigram = """
        some preamble a toolkit may write

        \data\
        ngram 1=6
        ngram 2=3

        \1-grams:
        -1.0	<s>	-0.3
        -1.0	</s>
        -0.5	cat	-0.2
        -3.0	cot	-0.2
        -1.5	the	-0.4
        -2.0	<unk>

        \2-grams:
        -0.2	<s> the
        -0.3	the cat
        -0.4	cat </s>

        \end\
        """;

    static ArpaLanguageModel Lm(string text) => ArpaLanguageModel.Parse(new StringReader(text));

    [Test]
    public void ArpaKatzBackOffAndUnknownWords()
    {
        var lm = Lm(Bigram);
        Assert.That(lm.Order, Is.EqualTo(2));
        Assert.That(lm.Counts, Is.EqualTo(new[] { 6, 3 }));
        Assert.That(lm.Log10Prob(["the"], "cat"), Is.EqualTo(-0.3).Within(1e-6));                  // listed
        Assert.That(lm.Log10Prob(["the"], "cot"), Is.EqualTo(-0.4 + -3.0).Within(1e-6));           // bow(the) + p(cot)
        Assert.That(lm.Log10Prob(["the"], "dog"), Is.EqualTo(-0.4 + -2.0).Within(1e-6));           // OOV -> <unk>
        Assert.That(lm.Log10Prob(["cot"], "</s>"), Is.EqualTo(-0.2 + -1.0).Within(1e-6));
        Assert.That(lm.Log10Prob(["dog"], "cat"), Is.EqualTo(-0.5).Within(1e-6));                  // <unk> has no bow
        Assert.That(lm.Log10Prob(["a", "b", "<s>"], "the"), Is.EqualTo(-0.2).Within(1e-6));        // only the last word counts
        Assert.That(lm.LogProb(["the"], "cat"), Is.EqualTo(-0.3 * Math.Log(10)).Within(1e-6));
        Assert.That(lm.ScoreSentence("the cat"), Is.EqualTo(-0.2 - 0.3 - 0.4).Within(1e-6));
        Assert.That(lm.Contains("cat") && !lm.Contains("dog"));

        // Trigram model without <unk>: KenLM's -100 for unknown words.
        var tri = Lm("""
            \data\
            ngram 1=4
            ngram 2=2
            ngram 3=1

            \1-grams:
            -1 <s> -0.5
            -1 </s>
            -0.7 the -0.3
            -0.9 cat

            \2-grams:
            -0.2 <s> the -0.25
            -0.3 the cat

            \3-grams:
            -0.1 <s> the cat
            \end\
            """);
        Assert.That(tri.Log10Prob(["<s>", "the"], "cat"), Is.EqualTo(-0.1).Within(1e-6));
        Assert.That(tri.Log10Prob(["cat", "the"], "cat"), Is.EqualTo(-0.3).Within(1e-6));           // "cat the" unlisted: bow 0
        Assert.That(tri.Log10Prob(["<s>", "the"], "the"), Is.EqualTo(-0.25 + -0.3 + -0.7).Within(1e-6));
        Assert.That(tri.Log10Prob(["<s>"], "dog"), Is.EqualTo(-0.5 + ArpaLanguageModel.MissingUnknownLog10).Within(1e-6));
    }

    [Test]
    public void ArpaErrorsNameTheLine()
    {
        var e = Assert.Throws<InvalidDataException>(() => Lm("\\data\\\nngram 1=2\n\n\\1-grams:\n-1 a\n\\end\\\n"));
        Assert.That(e!.Message, Does.Contain("has 1 entries, the header declares 2"));
        e = Assert.Throws<InvalidDataException>(() => Lm("\\data\\\nngram 1=1\n\n\\1-grams:\n-1 a b c\n\\end\\\n"));
        Assert.That(e!.Message, Does.Contain("line 5").And.Contain("a 1-gram line needs"));
        Assert.Throws<InvalidDataException>(() => Lm("hello"));
    }

    // Acoustics for "the c?t": the vowel is o (0.55) or a (0.45); everything else is clear.
    static readonly Alphabet Letters = new(" acehot");

    static float[] TheCot()
    {
        var frames = new List<(int, double)[]>();
        void Clear(char ch) { frames.Add([(Letters.Encode(ch.ToString())[0], 0.95)]); frames.Add([(Letters.Blank, 0.95)]); }
        foreach (char ch in "the c") Clear(ch);
        frames.Add([(Letters.Encode("o")[0], 0.55), (Letters.Encode("a")[0], 0.45 - 1e-6)]);
        frames.Add([(Letters.Blank, 0.95)]);
        Clear('t');
        return CtcDecoderTests.Frames(Letters.Classes, frames.ToArray());
    }

    [Test]
    public void TheLanguageModelChangesTheRanking()
    {
        var lp = TheCot();
        int T = lp.Length / Letters.Classes;
        var acoustic = new CtcBeamSearchDecoder(Letters, beamWidth: 32).Decode(lp, T, topN: 2);
        Assert.That(acoustic.Select(h => h.Text), Is.EqualTo(new[] { "the cot", "the cat" }));

        var lm = Lm(Bigram);
        var withLm = new CtcBeamSearchDecoder(Letters, beamWidth: 32, languageModel: lm, alpha: 1.0, beta: 0.5).Decode(lp, T, topN: 2);
        Assert.That(withLm.Select(h => h.Text), Is.EqualTo(new[] { "the cat", "the cot" }));
        foreach (var h in withLm)
        {
            // LM term: alpha ln P(<s> the cat </s>) + beta * words; the acoustic part is untouched.
            double expectLm = 1.0 * lm.ScoreSentence(h.Text) * Math.Log(10) + 0.5 * 2;
            Assert.That(h.LmScore, Is.EqualTo(expectLm).Within(1e-6), h.Text);
            Assert.That(h.Score, Is.EqualTo(h.AcousticScore + h.LmScore).Within(1e-9));
            Assert.That(h.AcousticScore, Is.EqualTo(acoustic.Single(a => a.Text == h.Text).AcousticScore).Within(1e-9));
        }
        // A small alpha leaves the acoustic winner on top.
        var weak = new CtcBeamSearchDecoder(Letters, beamWidth: 32, languageModel: lm, alpha: 0.01, beta: 0).Decode(lp, T)[0];
        Assert.That(weak.Text, Is.EqualTo("the cot"));
    }

    [Test]
    public void HotWordsBoostCompletedWords()
    {
        var lp = TheCot();
        int T = lp.Length / Letters.Classes;
        var boosted = new CtcBeamSearchDecoder(Letters, beamWidth: 32) { HotWords = new Dictionary<string, double> { ["cat"] = 1.0 } }.Decode(lp, T, topN: 2);
        Assert.That(boosted[0].Text, Is.EqualTo("the cat"));
        Assert.That(boosted[0].LmScore, Is.EqualTo(1.0));
        Assert.That(boosted[1].LmScore, Is.EqualTo(0.0));
    }
}
