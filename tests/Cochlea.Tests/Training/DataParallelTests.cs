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
    public void ReplicasMakeTheSameUpdateAsOneModelOnTheWholeBatch(int replicas)
    {
        const int T = 5, B = 8;
        DeepSpeech Make() => new(nInput: 4, nContext: 1, nHidden: 6, nCharacter: 5, dropout: 0f, seed: 3);
        var rng = new Random(11);
        using var x = Tensor.Randn(rng, 1f, T, B, 12);
        var labels = Enumerable.Range(0, T * B).Select(_ => (long)rng.Next(5)).ToArray();

        using var single = Make();
        using var optSingle = new Adam(single.Parameters(), lr: 1e-2f);
        using var dp = new DataParallel<DeepSpeech>(Make, replicas);
        using var optDp = new Adam(dp.Master.Parameters(), lr: 1e-2f);

        for (int step = 0; step < 3; step++)
        {
            using (var s = Tensor.Scope())
            {
                single.ZeroGrad();
                SliceLoss(single, x, labels, 0, B).Backward();
                optSingle.Step();
            }
            int per = B / replicas;
            dp.ComputeGradients((m, r) => SliceLoss(m, x, labels, r * per, per));
            optDp.Step();
            dp.Broadcast();
        }
        foreach (var ((name, a), (_, b)) in single.NamedParameters().Zip(dp.Master.NamedParameters()))
            Assert.That(b.ToArray(), Is.EqualTo(a.ToArray()).Within(2e-5f), name);
    }

    [Test]
    public void AReplicaFailureNamesTheReplica()
    {
        using var dp = new DataParallel<Linear>(() => new Linear(2, 2), 2);
        var e = Assert.Throws<AggregateException>(() => dp.ComputeGradients((m, r) => r == 1 ? throw new InvalidOperationException("boom") : Ops.Sum(m.Forward(Tensor.Ones(1, 2)))));
        Assert.That(e!.Message, Does.Contain("replica 1").And.Contain("boom"));
    }
}
