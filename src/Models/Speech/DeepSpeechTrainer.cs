// Training and evaluation of DeepSpeech with CTC: batches of utterances sorted by length (so
// padding is small), time-major (T, B, 494) inputs with per-sequence lengths, CTC on the logits
// (blank = last class, as DeepSpeech), Adam; optional data-parallel replicas (towers) with
// averaged gradients. Evaluation decodes greedily and reports WER/CER.
using Cochlea.Models.Training;
using Cochlea.Optim;

namespace Cochlea.Models.Speech;

/// <summary>Mean CTC loss of one pass and (for evaluation) the WER report.</summary>
public sealed record SpeechEpochResult(double Loss, int Utterances, double Seconds, WerReport? Report);

/// <summary>Trains a <see cref="DeepSpeech"/> model on <see cref="SpeechUtterance"/>s.</summary>
public sealed class DeepSpeechTrainer : IDisposable
{
    readonly DataParallel<DeepSpeech> _replicas;
    readonly Optimizer _optimizer;
    readonly Alphabet _alphabet;
    readonly int _batch;

    /// <summary>The model the optimizer updates.</summary>
    public DeepSpeech Model => _replicas.Master;

    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer => _optimizer;

    /// <summary>
    /// A trainer over models made by <paramref name="factory"/> (called once per replica; the replicas then get the
    /// first one's weights), Adam at <paramref name="learningRate"/>, <paramref name="batch"/> utterances per step split
    /// evenly over <paramref name="replicas"/> towers.
    /// </summary>
    public DeepSpeechTrainer(Func<DeepSpeech> factory, Alphabet alphabet, int batch, float learningRate = 1e-3f, int replicas = 1)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be >= 1.");
        if (replicas < 1 || batch % replicas != 0) throw new ArgumentException($"--replicas ({replicas}) must divide the batch size ({batch}) so every tower gets an equal slice.");
        _alphabet = alphabet;
        _batch = batch;
        _replicas = new DataParallel<DeepSpeech>(factory, replicas);
        _optimizer = new Adam(Model.Parameters(), lr: learningRate);
    }

    /// <summary>One epoch over <paramref name="data"/> in length order (batches shuffled by <paramref name="rng"/>).</summary>
    public SpeechEpochResult TrainEpoch(IReadOnlyList<SpeechUtterance> data, Random rng, Action<int, int, double>? progress = null)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var batches = SortedBatches(data);
        for (int i = batches.Count - 1; i > 0; i--) { int j = rng.Next(i + 1); (batches[i], batches[j]) = (batches[j], batches[i]); }
        double lossSum = 0; int seen = 0;
        foreach (var b in batches)
        {
            int towers = _replicas.Count;
            int per = b.Length / towers;
            // A last short batch that does not split evenly runs on one tower (the average would be unequal otherwise).
            float loss;
            if (per * towers == b.Length && towers > 1)
            {
                // Coordinated dropout: each tower pads its slice to the whole batch's length and takes the whole batch's
                // mask at its rows, so N towers make the same update as one model on the whole batch, dropout included.
                int frames = b.Max(u => u.Frames);
                loss = _replicas.ComputeGradients((m, r) =>
                {
                    m.DropoutBatchSlice = (r * per, b.Length);
                    try { return BatchLoss(m, b.AsSpan(r * per, per).ToArray(), train: true, frames); }
                    finally { m.DropoutBatchSlice = null; }
                });
            }
            else
            {
                Model.ZeroGrad();
                using var scope = Tensor.Scope();
                var l = BatchLoss(Model, b, train: true);
                l.Backward();
                loss = l.Item();
            }
            _optimizer.Step();
            if (towers > 1)
            {
                _replicas.Broadcast();
                // Every tower's dropout stream continues where the master's is (a short batch ran on the master alone).
                foreach (var m in _replicas.Replicas) m.DropoutRng.Offset = Model.DropoutRng.Offset;
            }
            lossSum += loss * b.Length; seen += b.Length;
            progress?.Invoke(seen, data.Count, lossSum / seen);
        }
        return new SpeechEpochResult(seen == 0 ? 0 : lossSum / seen, seen, sw.Elapsed.TotalSeconds, null);
    }

    /// <summary>Loss and greedy-decoding WER report over <paramref name="data"/> (eval mode, no gradients).</summary>
    public SpeechEpochResult Evaluate(IReadOnlyList<SpeechUtterance> data)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Model.Eval();
        var items = new List<(string, string, double)>();
        double lossSum = 0;
        using (Tensor.NoGrad())
            foreach (var b in SortedBatches(data))
            {
                using var scope = Tensor.Scope();
                var (x, lengths) = Pack(b);
                var logits = Model.Forward(x, lengths);
                var losses = Ctc(logits, b, lengths, "none").ToArray();
                var logProbs = Ops.LogSoftmax(logits, 2);
                var hyps = CtcGreedyDecoder.DecodeBatch(logProbs, lengths, _alphabet);
                for (int i = 0; i < b.Length; i++) { items.Add((b[i].Transcript, hyps[i].Text, losses[i])); lossSum += losses[i]; }
            }
        Model.Train();
        return new SpeechEpochResult(items.Count == 0 ? 0 : lossSum / items.Count, items.Count, sw.Elapsed.TotalSeconds, WerReport.Build(items));
    }

    /// <summary>Greedy transcript of one featurized utterance.</summary>
    public string Transcribe(float[] features, int frames)
    {
        Model.Eval();
        using var ng = Tensor.NoGrad();
        using var scope = Tensor.Scope();
        var x = Tensor.FromArray(features, frames, 1, features.Length / Math.Max(frames, 1));
        var logProbs = Ops.LogSoftmax(Model.Forward(x), 2);
        return CtcGreedyDecoder.DecodeBatch(logProbs, [frames], _alphabet)[0].Text;
    }

    Tensor BatchLoss(DeepSpeech m, SpeechUtterance[] b, bool train, int padTo = 0)
    {
        var (x, lengths) = Pack(b, padTo);
        var logits = m.Forward(x, lengths);
        return Ctc(logits, b, lengths, "mean");
    }

    Tensor Ctc(Tensor logits, SpeechUtterance[] b, int[] lengths, string reduction)
    {
        int maxL = Math.Max(1, b.Max(u => u.Labels.Length));
        var targets = new long[b.Length * maxL];
        for (int i = 0; i < b.Length; i++) for (int j = 0; j < b[i].Labels.Length; j++) targets[i * maxL + j] = b[i].Labels[j];
        return Loss.CtcFromLogits(logits, Tensor.FromArray(targets, b.Length, maxL), lengths, b.Select(u => u.Labels.Length).ToArray(),
            blank: _alphabet.Blank, reduction: reduction, zeroInfinity: true);
    }

    // (T, B, F) zero-padded batch (T: the longest utterance, or padTo if longer) and lengths.
    static (Tensor X, int[] Lengths) Pack(SpeechUtterance[] b, int padTo = 0)
    {
        int T = Math.Max(padTo, b.Max(u => u.Frames)), F = b[0].Features.Length / Math.Max(b[0].Frames, 1);
        var x = Tensor.Zeros(T, b.Length, F);
        var d = x.AsSpan();
        for (int i = 0; i < b.Length; i++)
            for (int t = 0; t < b[i].Frames; t++)
                b[i].Features.AsSpan(t * F, F).CopyTo(d.Slice((t * b.Length + i) * F, F));
        return (x, b.Select(u => u.Frames).ToArray());
    }

    List<SpeechUtterance[]> SortedBatches(IReadOnlyList<SpeechUtterance> data)
    {
        var sorted = data.OrderBy(u => u.Frames).ToArray();
        var list = new List<SpeechUtterance[]>();
        for (int i = 0; i < sorted.Length; i += _batch) list.Add(sorted.AsSpan(i, Math.Min(_batch, sorted.Length - i)).ToArray());
        return list;
    }

    /// <inheritdoc/>
    public void Dispose() { _optimizer.Dispose(); _replicas.Dispose(); }
}
