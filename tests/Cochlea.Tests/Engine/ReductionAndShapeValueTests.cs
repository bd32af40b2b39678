using NUnit.Framework;

namespace Cochlea.Tests.Engine;

public class ReductionAndShapeValueTests
{
    static readonly Random Rng = new(99);


    [Test]
    public void SumMatchesClosedForm()
    {
        using var x = Tensor.FromArray(Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), 2, 3, 4);
        Assert.That(Ops.Sum(x).Item(), Is.EqualTo(276f));
        Assert.That(Ops.Sum(x, [0, 2]).ToArray(), Is.EqualTo(new[] { 0f + 1 + 2 + 3 + 12 + 13 + 14 + 15, 4f + 5 + 6 + 7 + 16 + 17 + 18 + 19, 8f + 9 + 10 + 11 + 20 + 21 + 22 + 23 }));
        Assert.That(Ops.Max(x, 1).ToArray(), Is.EqualTo(new[] { 8f, 9, 10, 11, 20, 21, 22, 23 }));
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
    public void GatherRejectsOutOfRangeIndex()
    {
        using var x = Tensor.Zeros(2, 3);
        using var idx = Tensor.FromArray(new long[] { 0, 3 }, 2, 1);
        Assert.Throws<IndexOutOfRangeException>(() => Ops.Gather(x, 1, idx));
    }
}
