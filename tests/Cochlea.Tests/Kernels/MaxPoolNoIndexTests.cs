// Pool.MaxForward2dNoIndex (max pool for inference, no argmax) on every SIMD path against PoolReference.MaxForward2d's
// values and against the indexed Pool.MaxForward2d on the same path, bit for bit: the ResNet stem's 3x3 stride-2 pad-1
// window, strides 1-4, dilation, windows wholly in padding, widths 0..257 (vector bodies and tails of every width), NaN
// and -inf in the input, ties (values drawn from a few levels, -0 and +0 among them: the first in tap order is kept),
// several NaN payloads (the last NaN in tap order wins), a guard after y; and Ops.MaxPool2d uses it only when no
// gradient is wanted (with one, the indices are kept and backward works).
using Cochlea.Kernels;
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
        yield return (new(5, 2, 1), new(50, 5, 3, 2, 2));   // stride 3 (scalar deinterleave)
        yield return (new(3, 3, 1, 1, 1), new(2, 3, 1, 1, 1));
        for (int l = 0; l <= 257; l++) { yield return (new(1, 1), new(l, 2, 2)); yield return (new(2, 3, 1, 1, 1), new(l, 3, 1, 1, 1)); }
    }

    static IEnumerable<TestCaseData> Cases()
    {
        foreach (var width in Simd.Available)
            foreach (bool ties in new[] { false, true })
                yield return new TestCaseData(width, ties).SetName($"No-index max pool equals the reference {width} ties={ties}");
    }

    // Uniform values with NaN and -inf at fixed places, or (ties) values from {-1, -0, +0, 0.5} with NaNs of three payloads.
    static float[] Input(int len, Random rng, bool ties)
    {
        if (!ties)
        {
            var x = Check.Rand(len, rng);
            if (x.Length > 40) { x[1] = float.NaN; x[4] = float.NegativeInfinity; x[37] = float.NaN; }
            return x;
        }
        float[] levels = [-1f, -0f, 0f, 0.5f, 0.5f, -0f, 0f, -1f];
        float[] nans = [BitConverter.Int32BitsToSingle(0x7FC00001), BitConverter.Int32BitsToSingle(unchecked((int)0xFFC00002)), BitConverter.Int32BitsToSingle(0x7FA00003)];
        var t = new float[len];
        for (int i = 0; i < len; i++) t[i] = rng.Next(40) == 0 ? nans[rng.Next(nans.Length)] : levels[rng.Next(levels.Length)];
        return t;
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesTheReferenceBitForBit(SimdWidth width, bool ties)
    {
        var rng = new Random(31);
        foreach (var (h, w) in Geometries())
        {
            const int planes = 3;
            var x = Input(planes * h.In * w.In, rng, ties);
            int len = Math.Max(0, planes * h.Out * w.Out);
            var y = new GuardedBuffer(len);
            var yr = new float[len];
            var yi = new float[len];
            var ir = new int[len];
            var ii = new int[len];
            fixed (float* px = x, py = y.Data, pyr = yr, pyi = yi)
            fixed (int* pir = ir, pii = ii)
            {
                Pool.MaxForward2dNoIndex(px, py, planes, h, w, width);
                PoolReference.MaxForward2d(px, pyr, pir, planes, h, w);
                Pool.MaxForward2d(px, pyi, pii, planes, h, w, width);   // the indexed max pool on the same path
            }
            for (int i = 0; i < len; i++)
            {
                Assert.That(BitConverter.SingleToInt32Bits(y.Data[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(yr[i])), $"{width} {h} {w} y[{i}] = {y.Data[i]} vs reference {yr[i]}");
                Assert.That(BitConverter.SingleToInt32Bits(y.Data[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(yi[i])), $"{width} {h} {w} y[{i}] = {y.Data[i]} vs indexed {yi[i]}");
            }
            y.AssertGuard($"{width} {h} {w}");
        }
    }

    [Test]
    public void AnUnavailableWidthIsRefused()
    {
        var missing = Enum.GetValues<SimdWidth>().Where(v => !Simd.Supports(v)).ToList();
        Assume.That(missing, Is.Not.Empty, "every SIMD path is available here");
        var x = new float[4];
        var y = new float[4];
        var e = Assert.Throws<PlatformNotSupportedException>(() =>
        {
            fixed (float* px = x, py = y) Pool.MaxForward2dNoIndex(px, py, 1, new ConvAxis(2, 1), new ConvAxis(2, 1), missing[0]);
        })!;
        Assert.That(e.Message, Does.Contain(missing[0].ToString()));
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
