// Data-parallel replicas: N replicas on equal slices make the same update as one replica on the
// whole batch (the "towers" requirement), for a DeepSpeech model and Adam.
using Cochlea.Models.Speech;
using Cochlea.Models.Training;
using Cochlea.Nn;
using Cochlea.Optim;
using NUnit.Framework;

namespace Cochlea.Tests.Training;

public class DataParallelTests
{
    // Frame-wise cross-entropy of DeepSpeech logits on slice [from, from+count) of the batch: a mean over the slice.
    static Tensor SliceLoss(DeepSpeech m, Tensor x, long[] labels, int from, int count)
    {
        var xs = x.Slice(1, from, from + count);
        var logits = m.Forward(xs);                                 // (T, count, C)
        int t = logits.Size(0), c = logits.Size(2);
        var flat = logits.Reshape(t * count, c);
        var y = new long[t * count];
        for (int i = 0; i < t; i++) for (int b = 0; b < count; b++) y[i * count + b] = labels[i * x.Size(1) + from + b];
        return Loss.CrossEntropy(flat, Tensor.FromArray(y, t * count));
    }

    [TestCase(2)]
    [TestCase(4)]
    public void ReplicasMakeTheSameUpdateAsOneModelOnTheWholeBatch(int replicas) => CompareWithOneModel(replicas, dropout: 0f, seed: 11);

    [TestCase(2)]
    [TestCase(4)]
    public void WithDropoutReplicasGivenTheirBatchSliceMakeTheSameUpdate(int replicas) => CompareWithOneModel(replicas, dropout: 0.3f, seed: 12);

    // Three Adam steps of one model on the whole batch and of N replicas on equal slices (each told its slice, so
    // dropout uses the whole batch's mask): the same parameters, and dropout streams in step.
    static void CompareWithOneModel(int replicas, float dropout, int seed)
    {
        const int T = 5, B = 8;
        DeepSpeech Make() => new(nInput: 4, nContext: 1, nHidden: 6, nCharacter: 5, dropout: dropout, seed: 3);
        var rng = new Random(seed);
        using var x = Tensor.Randn(rng, 1f, T, B, 12);
        var labels = Enumerable.Range(0, T * B).Select(_ => (long)rng.Next(5)).ToArray();

        using var single = Make();
        using var optSingle = new Adam(single.Parameters(), lr: 1e-2f);
        using var dp = new DataParallel<DeepSpeech>(Make, replicas);
        using var optDp = new Adam(dp.Master.Parameters(), lr: 1e-2f);
        int per = B / replicas;
        for (int step = 0; step < 3; step++)
        {
            using (var s = Tensor.Scope())
            {
                single.ZeroGrad();
                SliceLoss(single, x, labels, 0, B).Backward();
                optSingle.Step();
            }
            dp.ComputeGradients((m, r) =>
            {
                m.DropoutBatchSlice = (r * per, B);
                return SliceLoss(m, x, labels, r * per, per);
            });
            optDp.Step();
            dp.Broadcast();
            foreach (var m in dp.Replicas) Assert.That(m.DropoutRng.Offset, Is.EqualTo(single.DropoutRng.Offset), "streams stay in step");
        }
        foreach (var ((name, a), (_, b)) in single.NamedParameters().Zip(dp.Master.NamedParameters()))
            Assert.That(b.ToArray(), Is.EqualTo(a.ToArray()).Within(2e-5f), name);
    }

    [Test]
    public void TrainerWithTowersAndDropoutMatchesOneTower()
    {
        // Utterances of different lengths (each tower pads to the whole batch's length), a last short batch (runs on the master alone).
        var rng = new Random(5);
        var data = Enumerable.Range(0, 10).Select(i =>
        {
            int frames = 6 + rng.Next(5);
            var f = Enumerable.Range(0, frames * 12).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            return new SpeechUtterance($"u{i}", "ab", f, frames, [0, 1]);
        }).ToList();
        var alphabet = Alphabet.DeepSpeech;
        DeepSpeech Make() => new(nInput: 4, nContext: 1, nHidden: 6, nCharacter: alphabet.Classes, dropout: 0.3f, seed: 4);
        using var one = new DeepSpeechTrainer(Make, alphabet, batch: 4, learningRate: 1e-2f, replicas: 1);
        using var two = new DeepSpeechTrainer(Make, alphabet, batch: 4, learningRate: 1e-2f, replicas: 2);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            one.TrainEpoch(data, new Random(epoch));
            two.TrainEpoch(data, new Random(epoch));
        }
        Assert.That(two.Model.DropoutRng.Offset, Is.EqualTo(one.Model.DropoutRng.Offset));
        foreach (var ((name, a), (_, b)) in one.Model.NamedParameters().Zip(two.Model.NamedParameters()))
            Assert.That(b.ToArray(), Is.EqualTo(a.ToArray()).Within(2e-5f), name);
    }

    [Test]
    public void SliceMasksAreTheWholeBatchMaskAtTheirRows()
    {
        using var s = Tensor.Scope();
        using var x = Tensor.Ones(3, 6, 5);
        var whole = new Philox(9, 3);
        var expected = Ops.Dropout(x, 0.5f, true, whole).ToArray();
        foreach (var (start, count) in new[] { (0, 2), (2, 3), (5, 1) })
        {
            var rng = new Philox(9, 3);
            var part = Ops.Dropout(x.Slice(1, start, start + count), 0.5f, true, rng, new BatchSlice(1, start, 6)).ToArray();
            for (int t = 0; t < 3; t++)
                for (int b = 0; b < count; b++)
                    for (int f = 0; f < 5; f++)
                        Assert.That(part[(t * count + b) * 5 + f], Is.EqualTo(expected[(t * 6 + start + b) * 5 + f]), $"t={t} b={start + b} f={f}");
            Assert.That(rng.Offset, Is.EqualTo(whole.Offset), "the stream ends where the whole batch's does");
        }
        Assert.Throws<ArgumentException>(() => Ops.Dropout(x, 0.5f, true, new Philox(1), new BatchSlice(1, 2, 6)));
    }

    [Test]
    public void AReplicaFailureNamesTheReplica()
    {
        using var dp = new DataParallel<Linear>(() => new Linear(2, 2), 2);
        var e = Assert.Throws<AggregateException>(() => dp.ComputeGradients((m, r) => r == 1 ? throw new InvalidOperationException("boom") : Ops.Sum(m.Forward(Tensor.Ones(1, 2)))));
        Assert.That(e!.Message, Does.Contain("replica 1").And.Contain("boom"));
    }
}
