// CTC prefix beam search (Hannun et al. 2014, "First-pass large vocabulary continuous speech
// recognition using bi-directional recurrent DNNs"; the decoder of DeepSpeech) with an optional word
// n-gram language model and hot-word boosts.
//
// Each prefix l (a collapsed label sequence) carries two log-probabilities over the frames so far:
// p_b(l), of the alignments of l ending in a blank, and p_nb(l), ending in l's last label. Frame t
// with log-probs lp_t extends every prefix in the beam:
//   blank:            p_b(l)     += (p_b(l) + p_nb(l)) * p_t(blank)
//   c == last(l):     p_nb(l)    += p_nb(l) * p_t(c)          (a repeat merges into the same label)
//                     p_nb(l+c)  += p_b(l) * p_t(c)           (a new c needs a blank in between)
//   c != last(l):     p_nb(l+c)  += (p_b(l) + p_nb(l)) * p_t(c)
// (sums in log space). Without pruning and with an unbounded beam, p_b + p_nb of a prefix is exactly
// the total probability of all its alignments; the beam keeps the best W prefixes per frame.
//
// Language model: a prefix's LM score is fixed when it is created - every path into l+space
// completes the same word - so it is kept apart from the acoustic sums: score(l) =
// log(p_b + p_nb) + lm(l), with lm(l+space) = lm(l) + alpha ln P(word | previous words) + beta
// (+ the word's hot-word boost). At the end, a trailing partial word is scored the same way and the
// sentence end </s> is added (alpha ln P(</s> | ...)).
using Cochlea.Kernels.Ctc;

namespace Cochlea.Models.Speech;

/// <summary>
/// Prefix beam search over (T, C) CTC log-probabilities, returning the best transcripts with their scores
/// (<c>Score = ln p(prefix | x) + alpha ln P_LM(words) + beta * words + boosts</c>).
/// </summary>
public sealed class CtcBeamSearchDecoder
{
    readonly Alphabet _alphabet;

    /// <summary>A decoder for <paramref name="alphabet"/>'s classes (its blank and its space as the word boundary).</summary>
    /// <param name="alphabet">The model's output classes.</param>
    /// <param name="beamWidth">Prefixes kept per frame (&gt;= 1).</param>
    /// <param name="languageModel">Optional word n-gram model, applied at word boundaries (space).</param>
    /// <param name="alpha">LM weight: multiplies the natural-log LM probability.</param>
    /// <param name="beta">Word insertion bonus added per completed word (counters the LM's bias to short outputs).</param>
    public CtcBeamSearchDecoder(Alphabet alphabet, int beamWidth = 100, ArpaLanguageModel? languageModel = null, double alpha = 0.75, double beta = 1.85)
    {
        ArgumentNullException.ThrowIfNull(alphabet);
        if (beamWidth < 1) throw new ArgumentOutOfRangeException(nameof(beamWidth), beamWidth, "The beam width must be at least 1.");
        if (!double.IsFinite(alpha) || !double.IsFinite(beta)) throw new ArgumentException($"alpha ({alpha}) and beta ({beta}) must be finite.");
        if (languageModel is not null && alphabet.SpaceLabel < 0)
            throw new ArgumentException("A word language model needs an alphabet with a space (the word boundary).", nameof(languageModel));
        _alphabet = alphabet;
        BeamWidth = beamWidth;
        LanguageModel = languageModel;
        Alpha = alpha;
        Beta = beta;
    }

    /// <summary>Prefixes kept per frame.</summary>
    public int BeamWidth { get; }

    /// <summary>The word LM, or null for acoustic-only decoding (then alpha and beta are unused).</summary>
    public ArpaLanguageModel? LanguageModel { get; }

    /// <summary>LM weight.</summary>
    public double Alpha { get; }

    /// <summary>Word insertion bonus (with a language model).</summary>
    public double Beta { get; }

    /// <summary>
    /// Per-frame pruning: classes with log-probability below this are not tried at that frame (the most likely class
    /// always is). Default -inf (no pruning, exact sums); ln(0.001) is a common speed-up.
    /// </summary>
    public double PruneLogProb { get; init; } = double.NegativeInfinity;

    /// <summary>Hot words: natural-log bonuses added when a prefix completes the word (with or without an LM).</summary>
    public IReadOnlyDictionary<string, double> HotWords { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// The <paramref name="topN"/> best transcripts of one utterance, best first.
    /// </summary>
    /// <param name="logProbs">Row-major (T, C) log-probabilities (log_softmax output), C = the alphabet's classes.</param>
    /// <param name="frames">T: rows used.</param>
    /// <param name="topN">How many transcripts to return (at most the beam width).</param>
    public IReadOnlyList<CtcHypothesis> Decode(ReadOnlySpan<float> logProbs, int frames, int topN = 1)
    {
        int C = _alphabet.Classes, blank = _alphabet.Blank, space = _alphabet.SpaceLabel;
        CtcGreedyDecoder.CheckShape(logProbs.Length, frames, C, blank);
        if (topN < 1) throw new ArgumentOutOfRangeException(nameof(topN), topN, "topN must be at least 1.");

        var root = new Prefix(null, -1, 0, [ArpaLanguageModel.SentenceStart], "") { Pb = 0, Pnb = double.NegativeInfinity };
        var beam = new List<Prefix> { root };
        // This frame's candidates, keyed by (parent, last label): an existing prefix is keyed by its own
        // parent and label, so an extension that recreates a prefix already in the beam merges with it.
        var cands = new Dictionary<(Prefix?, int), Candidate>();
        var kept = new List<int>(C);
        var heap = new PriorityQueue<Candidate, (double Score, int Order)>(BeamWidth + 1, Worse);
        var ranked = new List<(double Score, int Order, Candidate C)>(BeamWidth);
        for (int t = 0; t < frames; t++)
        {
            var row = logProbs.Slice(t * C, C);
            kept.Clear();
            int best = 0;
            for (int c = 0; c < C; c++)
            {
                if (row[c] >= PruneLogProb) kept.Add(c);
                if (row[c] > row[best]) best = c;
            }
            if (!kept.Contains(best)) kept.Add(best);

            cands.Clear();
            foreach (var p in beam) cands[(p.Parent, p.Label)] = new Candidate(p.Parent, p.Label) { Node = p };
            foreach (var p in beam)
            {
                double total = LogAdd(p.Pb, p.Pnb);
                var self = cands[(p.Parent, p.Label)];
                foreach (int c in kept)
                {
                    double lp = row[c];
                    if (c == blank) { self.Pb = LogAdd(self.Pb, total + lp); continue; }
                    var ext = Get(cands, p, c);
                    if (c == p.Label)
                    {
                        self.Pnb = LogAdd(self.Pnb, p.Pnb + lp);
                        ext.Pnb = LogAdd(ext.Pnb, p.Pb + lp);
                    }
                    else ext.Pnb = LogAdd(ext.Pnb, total + lp);
                }
            }

            // Keep the best W by acoustic + LM score (ties: first created wins, so the result is deterministic):
            // a min-heap of the W best so far, so most of the ~W*C candidates cost one comparison with its root.
            heap.Clear();
            int order = 0;
            foreach (var cand in cands.Values)
            {
                double acoustic = LogAdd(cand.Pb, cand.Pnb);
                if (double.IsNegativeInfinity(acoustic)) { order++; continue; }
                cand.Lm = cand.Node?.Lm ?? cand.Parent!.Lm + WordScore(cand.Parent, cand.Label, space);
                var key = (acoustic + cand.Lm, order++);
                if (heap.Count < BeamWidth) heap.Enqueue(cand, key);
                else if (Worse.Compare(PeekKey(heap), key) < 0) heap.EnqueueDequeue(cand, key);
            }
            ranked.Clear();
            while (heap.TryDequeue(out var cand, out var key)) ranked.Add((key.Score, key.Order, cand));
            ranked.Reverse();   // best first
            beam.Clear();
            for (int i = 0; i < ranked.Count; i++)
            {
                var cand = ranked[i].C;
                var node = cand.Node ?? Extend(cand.Parent!, cand.Label, space, cand.Lm);
                node.Pb = cand.Pb;
                node.Pnb = cand.Pnb;
                beam.Add(node);
            }
            if (beam.Count == 0) break;   // every class -inf: nothing is possible
        }

        // Final scores: the trailing partial word and the sentence end.
        var finals = new List<(double Score, int Order, Prefix P, double Lm)>();
        for (int i = 0; i < beam.Count; i++)
        {
            var p = beam[i];
            double lm = p.Lm + WordScore(p, space, space);
            if (LanguageModel is not null)
                lm += Alpha * LanguageModel.LogProb(p.Word.Length > 0 ? Append(p.Context, p.Word, LanguageModel.Order) : p.Context, ArpaLanguageModel.SentenceEnd);
            finals.Add((LogAdd(p.Pb, p.Pnb) + lm, i, p, lm));
        }
        finals.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Order.CompareTo(b.Order));
        return finals.Take(topN).Select(f =>
        {
            var labels = f.P.Labels();
            string text = _alphabet.Decode(labels);
            return new CtcHypothesis(labels, text, f.Score, LogAdd(f.P.Pb, f.P.Pnb), f.Lm, CtcGreedyDecoder.CountWords(text));
        }).ToArray();
    }

    /// <summary>Beam search over each sequence of a time-major (T, B, C) batch, sequence b using lengths[b] frames.</summary>
    public IReadOnlyList<IReadOnlyList<CtcHypothesis>> DecodeBatch(Tensor logProbs, int[] lengths, int topN = 1)
    {
        var rows = CtcGreedyDecoder.BatchRows(logProbs, lengths, _alphabet.Classes, nameof(CtcBeamSearchDecoder));
        return rows.Select((r, b) => Decode(r, lengths[b], topN)).ToArray();
    }

    /// <summary>
    /// The LM (and hot-word) score of appending <paramref name="label"/> to <paramref name="p"/>: nonzero only when
    /// the label is the space and completes a non-empty word: <c>alpha ln P(word | context) + beta + boost(word)</c>.
    /// </summary>
    double WordScore(Prefix p, int label, int space)
    {
        if (label != space || space < 0 || p.Word.Length == 0) return 0;
        // Memoised on the node: the same prefix proposes its space extension at every frame it stays in the beam.
        if (p.WordScore is double known) return known;
        double s = HotWords.TryGetValue(p.Word, out double boost) ? boost : 0;
        if (LanguageModel is not null) s += Alpha * LanguageModel.LogProb(p.Context, p.Word) + Beta;
        p.WordScore = s;
        return s;
    }

    /// <summary>
    /// The node of <paramref name="parent"/> + <paramref name="label"/>. Nodes live in a tree that remembers every
    /// child it ever made, so a label sequence always maps to ONE node, even after it left the beam and came back:
    /// otherwise its extensions would exist twice and split their probability.
    /// </summary>
    Prefix Extend(Prefix parent, int label, int space, double lm)
    {
        parent.Children ??= [];
        if (parent.Children.TryGetValue(label, out var known)) return known;
        Prefix child;
        if (label == space)
            child = parent.Word.Length == 0
                ? new Prefix(parent, label, lm, parent.Context, "")
                : new Prefix(parent, label, lm, Append(parent.Context, parent.Word, LanguageModel?.Order ?? 1), "");
        else child = new Prefix(parent, label, lm, parent.Context, parent.Word + _alphabet[label]);
        parent.Children[label] = child;
        return child;
    }

    /// <summary>The LM context after <paramref name="word"/>: the last N - 1 words (all an N-gram can use).</summary>
    static string[] Append(string[] context, string word, int order)
    {
        int keep = Math.Max(0, Math.Min(context.Length + 1, order - 1));
        var next = new string[keep];
        for (int i = 0; i < keep; i++)
        {
            int src = context.Length + 1 - keep + i;
            next[i] = src < context.Length ? context[src] : word;
        }
        return next;
    }

    /// <summary>Orders (score, creation order) from worst to best: the heap's root is the candidate to drop first.</summary>
    static readonly Comparer<(double Score, int Order)> Worse = Comparer<(double Score, int Order)>.Create((a, b) =>
        a.Score != b.Score ? a.Score.CompareTo(b.Score) : b.Order.CompareTo(a.Order));

    static (double Score, int Order) PeekKey(PriorityQueue<Candidate, (double Score, int Order)> heap)
    {
        heap.TryPeek(out _, out var key);
        return key;
    }

    static Candidate Get(Dictionary<(Prefix?, int), Candidate> cands, Prefix parent, int label)
    {
        if (!cands.TryGetValue((parent, label), out var c)) cands[(parent, label)] = c = new Candidate(parent, label);
        return c;
    }

    /// <summary>log(e^a + e^b), exact for -inf.</summary>
    static double LogAdd(double a, double b) => CtcReference.LogAdd(a, b);

    /// <summary>A prefix of the search: a node of the prefix tree (parent + last label), its LM state and probabilities.</summary>
    sealed class Prefix(Prefix? parent, int label, double lm, string[] context, string word)
    {
        public readonly Prefix? Parent = parent;
        public readonly int Label = label;
        public readonly double Lm = lm;
        /// <summary>Completed words the LM conditions on (the last N - 1, starting with &lt;s&gt;).</summary>
        public readonly string[] Context = context;
        /// <summary>The word being spelled since the last space.</summary>
        public readonly string Word = word;
        public double Pb, Pnb;
        public Dictionary<int, Prefix>? Children;
        /// <summary>Score of completing <see cref="Word"/> (see WordScore), once computed.</summary>
        public double? WordScore;

        public int[] Labels()
        {
            var l = new List<int>();
            for (var p = this; p.Parent is not null; p = p.Parent) l.Add(p.Label);
            l.Reverse();
            return l.ToArray();
        }
    }

    /// <summary>A prefix as seen during one frame: probabilities accumulated from the beam, Node when it already exists.</summary>
    sealed class Candidate(Prefix? parent, int label)
    {
        public readonly Prefix? Parent = parent;
        public readonly int Label = label;
        public Prefix? Node;
        public double Pb = double.NegativeInfinity, Pnb = double.NegativeInfinity, Lm;
    }
}
