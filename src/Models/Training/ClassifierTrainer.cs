// A plain supervised loop for classifiers over in-memory clips: shuffled mini-batches,
// cross-entropy, backward, optimizer step, one Tensor.Scope per step so memory stays flat.
using System.Diagnostics;
using Cochlea.Nn;
using Cochlea.Optim;

namespace Cochlea.Models.Training;

/// <summary>Loss and accuracy of one pass over a data set.</summary>
/// <param name="Loss">Mean cross-entropy per clip.</param>
/// <param name="Accuracy">Fraction of clips whose arg-max logit is the label.</param>
/// <param name="Clips">Clips seen.</param>
/// <param name="Seconds">Wall time of the pass.</param>
public readonly record struct EpochResult(double Loss, double Accuracy, int Clips, double Seconds)
{
    /// <summary>Throughput in clips per second.</summary>
    public double ClipsPerSecond => Seconds > 0 ? Clips / Seconds : 0;
}

/// <summary>Trains and evaluates a (B, samples) -> (B, classes) model on in-memory clips.</summary>
public sealed class ClassifierTrainer(Module model, Optimizer optimizer, int batchSize, int seed = 0)
{
    readonly Random _shuffle = new(seed);

    /// <summary>One epoch of training over (clips, labels) in a fresh random order.</summary>
    public EpochResult TrainEpoch(float[][] clips, int[] labels, Action<int, int, double>? progress = null)
    {
        var order = Enumerable.Range(0, clips.Length).OrderBy(_ => _shuffle.Next()).ToArray();
        model.Train();
        return Pass(clips, labels, order, train: true, progress);
    }

    /// <summary>Loss and accuracy in eval mode, without gradients.</summary>
    public EpochResult Evaluate(float[][] clips, int[] labels)
    {
        model.Eval();
        using var _ = Tensor.NoGrad();
        return Pass(clips, labels, Enumerable.Range(0, clips.Length).ToArray(), train: false, null);
    }

    EpochResult Pass(float[][] clips, int[] labels, int[] order, bool train, Action<int, int, double>? progress)
    {
        if (clips.Length != labels.Length) throw new ArgumentException($"{clips.Length} clips but {labels.Length} labels.");
        if (clips.Length == 0) return new EpochResult(0, 0, 0, 0);
        int samples = clips[0].Length;
        var sw = Stopwatch.StartNew();
        double lossSum = 0;
        int correct = 0, seen = 0;
        for (int at = 0; at < order.Length; at += batchSize)
        {
            int b = Math.Min(batchSize, order.Length - at);
            using var step = Tensor.Scope();
            var x = Tensor.Empty(b, samples);
            var y = new long[b];
            var xs = x.AsSpan();
            for (int i = 0; i < b; i++)
            {
                var clip = clips[order[at + i]];
                if (clip.Length != samples) throw new ArgumentException($"clip {order[at + i]} has {clip.Length} samples, expected {samples}.");
                clip.CopyTo(xs.Slice(i * samples, samples));
                y[i] = labels[order[at + i]];
            }
            var target = Tensor.FromArray(y, b);
            var logits = model.Forward(x);
            var loss = Loss.CrossEntropy(logits, target);
            if (train)
            {
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
            }
            lossSum += loss.Item() * b;
            correct += CountCorrect(logits, y);
            seen += b;
            progress?.Invoke(seen, order.Length, lossSum / seen);
        }
        return new EpochResult(lossSum / seen, (double)correct / seen, seen, sw.Elapsed.TotalSeconds);
    }

    static int CountCorrect(Tensor logits, long[] labels)
    {
        var v = logits.ToArray();
        int c = logits.Size(1), ok = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            int best = 0;
            for (int k = 1; k < c; k++) if (v[i * c + k] > v[i * c + best]) best = k;
            if (best == labels[i]) ok++;
        }
        return ok;
    }
}
