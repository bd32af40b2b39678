using NUnit.Framework;
using static Cochlea.Tests.Engine.GradCheck;

namespace Cochlea.Tests.Engine;

public class ReductionAndShapeGradTests
{
    static readonly Random Rng = new(99);

    [Test]
    public void Reductions()
    {
        var x = Normal(Rng, 3, 4, 5);
        Check(t => Ops.Sum(t[0]), [x]);
        Check(t => Ops.Sum(t[0], [1], keepDim: true), [x]);
        Check(t => Ops.Sum(t[0], [0, 2]), [x]);
        Check(t => Ops.Mean(t[0], [2]), [x]);
        Check(t => Ops.Mean(t[0], [0, 1], keepDim: true), [x]);
        Check(t => Ops.Mean(t[0]), [x]);
        var d = Distinct(Rng, 3, 4, 5);
        Check(t => Ops.Max(t[0], 1), [d]);
        Check(t => Ops.Max(t[0], 2, keepDim: true), [d]);
        Check(t => Ops.Max(t[0], 0), [d]);
        Check(t => Ops.Max(t[0]), [d]);
    }

    [Test]
    public void SumMatchesClosedForm()
    {
        using var x = Tensor.FromArray(Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), 2, 3, 4);
        Assert.That(Ops.Sum(x).Item(), Is.EqualTo(276f));
        Assert.That(Ops.Sum(x, [0, 2]).ToArray(), Is.EqualTo(new[] { 0f + 1 + 2 + 3 + 12 + 13 + 14 + 15, 4f + 5 + 6 + 7 + 16 + 17 + 18 + 19, 8f + 9 + 10 + 11 + 20 + 21 + 22 + 23 }));
        Assert.That(Ops.Max(x, 1).ToArray(), Is.EqualTo(new[] { 8f, 9, 10, 11, 20, 21, 22, 23 }));
    }

    [Test]
    public void Matmul()
    {
        Check(t => Ops.Matmul(t[0], t[1]), [Normal(Rng, 3, 4), Normal(Rng, 4, 5)]);
        Check(t => Ops.Matmul(t[0], t[1]), [Normal(Rng, 2, 3, 4), Normal(Rng, 2, 4, 5)]);
        Check(t => Ops.Matmul(t[0], t[1]), [Normal(Rng, 2, 1, 3, 4), Normal(Rng, 3, 4, 2)]);
        Check(t => Ops.Matmul(t[0], t[1]), [Normal(Rng, 4), Normal(Rng, 4, 3)]);
        Check(t => Ops.Matmul(t[0], t[1]), [Normal(Rng, 2, 3, 4), Normal(Rng, 4)]);
        Check(t => Ops.Matmul(t[0].Transpose(0, 1), t[1].Transpose(-1, -2)), [Normal(Rng, 4, 3), Normal(Rng, 2, 5, 4)]);
        Check(t => Ops.Linear(t[0], t[1], t[2]), [Normal(Rng, 2, 3, 4), Normal(Rng, 5, 4), Normal(Rng, 5)]);
        Check(t => Ops.Linear(t[0], t[1]), [Normal(Rng, 6, 4), Normal(Rng, 2, 4)]);
    }

    [Test]
    public void MatmulMatchesReference()
    {
        var a = Tensor.Randn(Rng, 1f, 3, 5, 7);
        var b = Tensor.Randn(Rng, 1f, 7, 2);
        var y = Ops.Matmul(a, b);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { 3, 5, 2 }));
        for (int i = 0; i < 3; i++) for (int r = 0; r < 5; r++) for (int c = 0; c < 2; c++)
        {
            double s = 0; for (int k = 0; k < 7; k++) s += a[i, r, k] * b[k, c];
            Assert.That(y[i, r, c], Is.EqualTo(s).Within(1e-4));
        }
    }

    [Test]
    public void Views()
    {
        var x = Normal(Rng, 2, 3, 4);
        Check(t => t[0].Reshape(4, 6) * t[0].Reshape(4, 6), [x]);
        Check(t => t[0].Permute(2, 0, 1).Reshape(-1), [x]);
        Check(t => t[0].Transpose(0, 2).Contiguous(), [x]);
        Check(t => t[0].Slice(2, 1, 4, 2), [x]);
        Check(t => t[0].Slice(1, -2, 3), [x]);
        Check(t => t[0].Slice(0, 0, 1).Expand(5, 3, 4), [x]);
        Check(t => t[0].Unfold(2, 2, 1), [x]);
        Check(t => t[0].Unfold(1, 2, 1).Permute(0, 2, 1, 3).Reshape(-1), [x]);
        Check(t => t[0].Unsqueeze(1).Squeeze(1), [x]);
        Check(t => t[0].Flatten(1), [x]);
    }

    [Test]
    public void JoinSplitPad()
    {
        var a = Normal(Rng, 2, 3); var b = Normal(Rng, 2, 5); var c = Normal(Rng, 2, 3);
        Check(t => Ops.Concat([t[0], t[1]], 1), [a, b]);
        Check(t => Ops.Stack([t[0], t[1]], 0), [a, c]);
        Check(t => Ops.Stack([t[0], t[1]], -1), [a, c]);
        Check(t => Ops.Split(t[0], [2, 1, 2], 1)[1] * 3f + Ops.Split(t[0], [2, 1, 2], 1)[0].Sum(1, true), [b]);
        var x = Normal(Rng, 2, 3, 4);
        Check(t => Ops.Pad(t[0], [1, 2]), [x]);
        Check(t => Ops.Pad(t[0], [0, 1, 2, 0], 3f), [x]);
        Check(t => Ops.Pad(t[0], [-1, 1]), [x]);
    }

    [Test]
    public void WhereGatherSoftmax()
    {
        using var mask = Tensor.FromArray([1f, 0f, 0f, 1f, 1f, 0f], 2, 3);
        Check(t => Ops.Where(mask, t[0], t[1]), [Normal(Rng, 2, 3), Normal(Rng, 3)]);
        using var idx = Tensor.FromArray(new long[] { 0, 2, 2, 1, 0, 0 }, 2, 3);
        Check(t => Ops.Gather(t[0], 1, idx), [Normal(Rng, 2, 4)]);
        Check(t => Ops.Softmax(t[0], 1), [Normal(Rng, 3, 5)]);
        Check(t => Ops.Softmax(t[0], 0), [Normal(Rng, 3, 5)]);
        Check(t => Ops.LogSoftmax(t[0], -1), [Normal(Rng, 2, 3, 5)]);
        Check(t => Ops.LogSoftmax(t[0], 1), [Normal(Rng, 2, 3, 5)]);
    }

    [Test]
    public void GatherRejectsOutOfRangeIndex()
    {
        using var x = Tensor.Zeros(2, 3);
        using var idx = Tensor.FromArray(new long[] { 0, 3 }, 2, 1);
        Assert.Throws<IndexOutOfRangeException>(() => Ops.Gather(x, 1, idx));
    }
}
