// Softmax / log-softmax kernels: every path vs the double reference on n = 0..257, guard after
// the output, in-place use, extreme inputs; backward vs the reference and vs finite differences.
using Cochlea.Kernels;
using Cochlea.Kernels.Softmax;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class SoftmaxTests
{
    [Test]
    public void ForwardMatchesReference([Values(false, true)] bool log)
    {
        var rng = new Random(1);
        foreach (var w in Check.Paths)
            for (int n = 0; n <= 257; n++)
            {
                int rows = 1 + n % 3;
                var x = GuardedBuffer.Random(rows * n, rng, -30f, 30f);
                var y = new GuardedBuffer(rows * n);
                var r = new float[rows * n];
                fixed (float* px = x.Data, py = y.Data, pr = r)
                {
                    if (log) SoftmaxKernels.LogForward(px, py, rows, n, w); else SoftmaxKernels.Forward(px, py, rows, n, w);
                    SoftmaxReference.Forward(px, pr, rows, n, log);
                }
                Check.Close(y.Span, r, log ? 2e-5 : 1e-7, 2e-6, $"{w} n={n}");
                y.AssertGuard($"{w} n={n}");
            }
    }

    [Test]
    public void ForwardInPlaceAndExtremes([Values(false, true)] bool log)
    {
        foreach (var w in Check.Paths)
        {
            float[] x = { 1000f, -1000f, 999f, float.NegativeInfinity, 3e38f, -3e38f, 0f, 1000f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f, 13f, 14f };
            var r = new float[x.Length];
            fixed (float* px = x, pr = r)
            {
                SoftmaxReference.Forward(px, pr, 1, x.Length, log);
                if (log) SoftmaxKernels.LogForward(px, px, 1, x.Length, w); else SoftmaxKernels.Forward(px, px, 1, x.Length, w);
            }
            Check.Close(x, r, 1e-6, 1e-6, w.ToString());
            float[] nan = Enumerable.Range(0, 21).Select(i => i == 17 ? float.NaN : i).ToArray();
            fixed (float* p = nan) SoftmaxKernels.Forward(p, p, 1, nan.Length, w);
            Assert.That(nan.All(float.IsNaN), $"{w}: a NaN in the row makes the whole row NaN, as PyTorch");
        }
    }

    [Test]
    public void BackwardMatchesReference([Values(false, true)] bool log)
    {
        var rng = new Random(2);
        foreach (var w in Check.Paths)
            for (int n = 0; n <= 257; n += (n < 40 ? 1 : 13))
            {
                int rows = 2;
                var x = Check.Rand(rows * n, rng);
                var yv = new float[rows * n];
                var dy = GuardedBuffer.Random(rows * n, rng);
                var dx = new GuardedBuffer(rows * n);
                var r = new float[rows * n];
                fixed (float* px = x, py = yv, pdy = dy.Data, pdx = dx.Data, pr = r)
                {
                    SoftmaxReference.Forward(px, py, rows, n, log);
                    if (log) SoftmaxKernels.LogBackward(py, pdy, pdx, rows, n, w); else SoftmaxKernels.Backward(py, pdy, pdx, rows, n, w);
                    SoftmaxReference.Backward(py, pdy, pr, rows, n, log);
                }
                Check.Close(dx.Span, r, 1e-6, 1e-5, $"{w} n={n}");
                dx.AssertGuard($"{w} n={n}");
            }
    }

    [Test]
    public void BackwardMatchesFiniteDifferences([Values(false, true)] bool log)
    {
        var rng = new Random(3);
        const int rows = 2, n = 7;
        var x = Check.Rand(rows * n, rng);
        var dy = Check.Rand(rows * n, rng);
        var y = new float[rows * n];
        var dx = new float[rows * n];
        fixed (float* px = x, py = y, pdy = dy, pdx = dx)
        {
            SoftmaxReference.Forward(px, py, rows, n, log);
            if (log) SoftmaxKernels.LogBackward(py, pdy, pdx, rows, n); else SoftmaxKernels.Backward(py, pdy, pdx, rows, n);
        }
        double Loss(float[] xs)
        {
            var o = new float[xs.Length];
            fixed (float* p = xs, q = o) SoftmaxReference.Forward(p, q, rows, n, log);
            return Check.Dot(o, dy);
        }
        const float h = 1e-2f;
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            x[i] = v + h; double lp = Loss(x);
            x[i] = v - h; double lm = Loss(x);
            x[i] = v;
            Assert.That(dx[i], Is.EqualTo((lp - lm) / (2 * h)).Within(2e-3), $"element {i}");
        }
    }

    [Test]
    public void StridedMatchesReference([Values(false, true)] bool log)
    {
        var rng = new Random(4);
        foreach (var w in Check.Paths)
            foreach (var (outer, n, inner) in new[] { (1, 5, 1), (2, 7, 3), (3, 1, 17), (2, 12, 40), (1, 0, 5), (2, 33, 9), (1, 4, 257) })
            {
                int len = outer * n * inner;
                var x = GuardedBuffer.Random(len, rng, -20f, 20f);
                var dy = Check.Rand(len, rng);
                var y = new GuardedBuffer(len); var yr = new float[len];
                var dx = new GuardedBuffer(len); var dxr = new float[len];
                fixed (float* px = x.Data, py = y.Data, pyr = yr, pdy = dy, pdx = dx.Data, pdxr = dxr)
                {
                    if (log) SoftmaxKernels.LogForwardStrided(px, py, outer, n, inner, w); else SoftmaxKernels.ForwardStrided(px, py, outer, n, inner, w);
                    SoftmaxReference.ForwardStrided(px, pyr, outer, n, inner, log);
                    if (log) SoftmaxKernels.LogBackwardStrided(pyr, pdy, pdx, outer, n, inner, w); else SoftmaxKernels.BackwardStrided(pyr, pdy, pdx, outer, n, inner, w);
                    SoftmaxReference.BackwardStrided(pyr, pdy, pdxr, outer, n, inner, log);
                }
                string what = $"{w} ({outer},{n},{inner})";
                Check.Close(y.Span, yr, log ? 2e-5 : 1e-7, 2e-6, what);
                Check.Close(dx.Span, dxr, 1e-6, 1e-5, what);
                y.AssertGuard(what);
                dx.AssertGuard(what);
            }
    }
}
