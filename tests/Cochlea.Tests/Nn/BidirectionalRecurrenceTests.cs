// Ops.BidirectionalRecurrence (both directions in one op, side by side on two threads) gives exactly what two
// Ops.Recurrence calls and a concat give, outputs and gradients, at one and at two kernel threads.
using Cochlea.Kernels.Threading;
using NUnit.Framework;

namespace Cochlea.Tests.Nn;

public class BidirectionalRecurrenceTests
{
    [TestCase(RecurrentCell.Lstm, 1), TestCase(RecurrentCell.Lstm, 2), TestCase(RecurrentCell.Gru, 2), TestCase(RecurrentCell.RnnRelu, 2)]
    public void EqualsTwoRecurrencesAndConcat(RecurrentCell cell, int threads)
    {
        int saved = KernelThreads.Count;
        KernelThreads.Count = threads;
        try
        {
            using var scope = Tensor.Scope();
            int g = cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };
            const int T = 7, B = 5, H = 37;
            int[] lengths = [7, 3, 0, 6, 1];
            var rng = new Random(3);
            Tensor Leaf(params int[] shape) { var t = Ops.Scale(Tensor.Randn(rng, 1f, shape), 0.3f); t.RequiresGrad = true; return t; }
            var p = new[] { Leaf(T, B, g * H), Leaf(g * H, H), Leaf(g * H), Leaf(T, B, g * H), Leaf(g * H, H), Leaf(g * H) };
            var up = Tensor.Randn(rng, 1f, T, B, 2 * H);

            var fused = Ops.BidirectionalRecurrence(p[0], p[1], p[2], p[3], p[4], p[5], cell, lengths, forgetBias: 1f);
            Ops.Sum(Ops.Mul(fused, up)).Backward();
            var fusedGrads = p.Select(t => t.Grad!.ToArray()).ToArray();
            foreach (var t in p) { t.Grad!.Dispose(); t.Grad = null; }

            var split = Ops.Concat([Ops.Recurrence(p[0], p[1], p[2], cell, false, lengths, 1f), Ops.Recurrence(p[3], p[4], p[5], cell, true, lengths, 1f)], 2);
            Ops.Sum(Ops.Mul(split, up)).Backward();
            Assert.That(fused.ToArray(), Is.EqualTo(split.ToArray()), "outputs");
            for (int i = 0; i < p.Length; i++) Assert.That(fusedGrads[i], Is.EqualTo(p[i].Grad!.ToArray()), $"gradient of input {i}");
        }
        finally { KernelThreads.Count = saved; }
    }
}
