// Pool.MaxForward2dNoIndex (max pool for inference, no argmax) against PoolReference.MaxForward2d's values: the ResNet
// stem's 3x3 stride-2 pad-1 window, dilation, windows wholly in padding, widths 0..257 (vector bodies and tails of
// every width), NaN and -inf in the input (NaN wins, as the reference), a guard after y; and Ops.MaxPool2d uses it
// only when no gradient is wanted (with one, the indices are kept and backward works).
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Pooling;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class MaxPoolNoIndexTests
{
    static IEnumerable<(ConvAxis H, ConvAxis W)> Geometries()
    {
        yield return (new(20, 3, 2, 1, 1), new(37, 3, 2, 1, 1));   // the ResNet stem's pool
        yield return (new(7, 2, 2), new(9, 2, 2));
        yield return (new(8, 3, 2, 1, 1), new(11, 3, 1, 1, 0));
        yield return (new(10, 4, 3, 2, 1), new(21, 2, 1, 1, 1));
        yield return (new(9, 2, 1, 1, 1, 3), new(13, 3, 2, 1, 1, 2));   // dilation
        yield return (new(6, 1, 1), new(70, 11, 4, 5, 5));
        yield return (new(3, 3, 1, 1, 1), new(2, 3, 1, 1, 1));
        for (int l = 0; l <= 257; l++) { yield return (new(1, 1), new(l, 2, 2)); yield return (new(2, 3, 1, 1, 1), new(l, 3, 1, 1, 1)); }
    }

    [Test]
    public void MatchesTheReferenceValues()
    {
        var rng = new Random(31);
        foreach (var (h, w) in Geometries())
        {
            const int planes = 3;
            var x = Check.Rand(planes * h.In * w.In, rng);
            if (x.Length > 40) { x[1] = float.NaN; x[4] = float.NegativeInfinity; x[37] = float.NaN; }
            int len = Math.Max(0, planes * h.Out * w.Out);
            var y = new GuardedBuffer(len);
            var yr = new float[len];
            var ir = new int[len];
            fixed (float* px = x, py = y.Data, pyr = yr)
            fixed (int* pir = ir)
            {
                Pool.MaxForward2dNoIndex(px, py, planes, h, w);
                PoolReference.MaxForward2d(px, pyr, pir, planes, h, w);
            }
            for (int i = 0; i < len; i++)
                Assert.That(y.Data[i], Is.EqualTo(yr[i]), $"{h} {w} y[{i}]");   // NaN equals NaN here
            y.AssertGuard($"{h} {w}");
        }
    }

    [Test]
    public void OpsMaxPoolKeepsIndicesWhenAGradientIsWanted()
    {
        using var scope = Tensor.Scope();
        var x = Tensor.Randn(new Random(2), 1f, 2, 3, 9, 10);
        float[] noGrad;
        using (Tensor.NoGrad()) noGrad = Ops.MaxPool2d(x, (3, 3), (2, 2), (1, 1)).ToArray();
        x.RequiresGrad = true;
        var y = Ops.MaxPool2d(x, (3, 3), (2, 2), (1, 1));
        Assert.That(y.ToArray(), Is.EqualTo(noGrad));
        Assert.That(y.GradFn?.Name, Is.EqualTo("max_pool2d"));
        Ops.Sum(y).Backward();
        Assert.That((double)x.Grad!.ToArray().Sum(), Is.EqualTo((double)y.Numel).Within(1e-4), "each output's gradient lands on one input");
    }
}
