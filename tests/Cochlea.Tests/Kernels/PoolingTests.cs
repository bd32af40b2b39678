// Pooling kernels: max (values, argmax indices, NaN/-inf rules), average (count_include_pad) and
// global average, every path vs PoolReference with guards; backward by the adjoint identity
// (pooling is linear for fixed argmax) and by finite differences of the reference forward.
using Cochlea.Kernels;
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Pooling;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class PoolingTests
{
    // Pooling geometries: PyTorch limits padding to half the kernel.
    static IEnumerable<(ConvAxis H, ConvAxis W)> Geometries()
    {
        yield return (new(1, 1), new(17, 2, 2));
        yield return (new(1, 1), new(40, 3, 1, 1, 1));
        yield return (new(1, 1), new(33, 5, 3, 2, 2));
        yield return (new(1, 1), new(1, 3, 1, 1, 1));
        yield return (new(1, 1), new(2, 3, 1));               // no output
        yield return (new(7, 2, 2), new(9, 2, 2));
        yield return (new(8, 3, 2, 1, 1), new(11, 3, 1, 1, 0));
        yield return (new(10, 4, 3, 2, 1), new(21, 2, 1, 1, 1));
        yield return (new(6, 1, 1), new(70, 11, 4, 5, 5));
        yield return (new(5, 2, 2), new(33, 2, 2));          // the vector 2x2 path, odd sizes (a row and a column dropped)
        yield return (new(4, 2, 2), new(70, 2, 2));          // every vector width's full chunks plus a tail
        yield return (new(2, 2, 2), new(2, 2, 2));
    }

    static IEnumerable<ConvAxis> Lengths()
    {
        for (int l = 0; l <= 257; l++) { yield return new ConvAxis(l, 2, 2); yield return new ConvAxis(l, 3, 1, 1, 1); }
    }

    [Test]
    public void MaxForwardMatchesReference()
    {
        var rng = new Random(20);
        foreach (var (h, w) in Geometries().Concat(Lengths().Select(l => (new ConvAxis(1, 1), l))))
        {
            const int planes = 3;
            var x = Check.Rand(planes * h.In * w.In, rng);
            for (int i = 0; i < x.Length; i += 3) x[i] = MathF.Max(x[i], 0f);   // ReLU-like ties: the first tap must win
            if (x.Length > 5) { x[1] = float.NaN; x[4] = float.NegativeInfinity; }
            if (x.Length > 2 * w.In + 9) { x[w.In + 8] = float.NaN; x[w.In + 9] = float.NaN; x[2 * w.In + 3] = float.NaN; }
            int len = planes * h.Out * w.Out;
            var y = new GuardedBuffer(len);
            var idx = new int[len + 5];
            idx.AsSpan(len).Fill(12345);
            var yr = new float[len];
            var ir = new int[len];
            fixed (float* px = x, py = y.Data, pyr = yr)
            fixed (int* pi = idx, pir = ir)
            {
                Pool.MaxForward2d(px, py, pi, planes, h, w);
                PoolReference.MaxForward2d(px, pyr, pir, planes, h, w);
            }
            Check.Close(y.Span, yr, 0, 0, $"{h} {w}");
            Assert.That(idx.AsSpan(0, len).ToArray(), Is.EqualTo(ir), $"{h} {w}");
            foreach (var wd in Check.Paths)
            {
                var yv = new GuardedBuffer(len);   // values only (no indices: inference), and with indices, on every path
                var iv = new int[len + 5];
                iv.AsSpan(len).Fill(12345);
                fixed (float* px = x, pyv = yv.Data) Pool.MaxForward2d(px, pyv, null, planes, h, w, wd);
                Check.Close(yv.Span, yr, 0, 0, $"values only {wd} {h} {w}");
                yv.AssertGuard($"values only {wd} {h} {w}");
                fixed (float* px = x, pyv = yv.Data) fixed (int* piv = iv) Pool.MaxForward2d(px, pyv, piv, planes, h, w, wd);
                Check.Close(yv.Span, yr, 0, 0, $"{wd} {h} {w}");
                Assert.That(iv.AsSpan(0, len).ToArray(), Is.EqualTo(ir), $"indices {wd} {h} {w}");
                Assert.That(iv.AsSpan(len).ToArray(), Is.All.EqualTo(12345), "index guard");
            }
            Assert.That(idx.AsSpan(len).ToArray(), Is.All.EqualTo(12345), "index guard");
            y.AssertGuard($"{h} {w}");
        }
    }

    [Test]
    public void MaxBackwardIsAdjointAndMatchesFiniteDifferences()
    {
        var rng = new Random(21);
        foreach (var (h, w) in Geometries())
        {
            const int planes = 2;
            int n = planes * h.In * w.In, len = planes * h.Out * w.Out;
            // Distinct values 0.01 apart: the argmax cannot change under a 1e-3 nudge, so differences are exact.
            var x = Enumerable.Range(0, n).Select(i => (float)(i * 0.01)).OrderBy(_ => rng.Next()).ToArray();
            var dy = Check.Rand(len, rng);
            var y = new float[len];
            var idx = new int[len];
            var dx = new GuardedBuffer(n, float.NaN);
            fixed (float* px = x, py = y, pdy = dy, pdx = dx.Data)
            fixed (int* pi = idx)
            {
                Pool.MaxForward2d(px, py, pi, planes, h, w);
                Pool.MaxBackward2d(pdy, pi, pdx, planes, h, w);
            }
            dx.AssertGuard($"{h} {w}");
            Assert.That(Check.Dot(dx.Span, x), Is.EqualTo(Check.Dot(dy, y)).Within(1e-4), $"adjoint {h} {w}");
            double Loss(float[] xs)
            {
                var o = new float[len]; var oi = new int[len];
                fixed (float* p = xs, q = o) fixed (int* qi = oi) PoolReference.MaxForward2d(p, q, qi, planes, h, w);
                return Check.Dot(o, dy);
            }
            for (int i = 0; i < n; i += 1 + n / 23)
            {
                float v = x[i];
                x[i] = v + 1e-3f; double lp = Loss(x);
                x[i] = v - 1e-3f; double lm = Loss(x);
                x[i] = v;
                Assert.That(dx.Data[i], Is.EqualTo((lp - lm) / 2e-3).Within(1e-3), $"fd {h} {w} at {i}");
            }
        }
    }

    [Test]
    public void AvgForwardAndBackwardMatchReference()
    {
        var rng = new Random(22);
        foreach (var wd in Check.Paths)
            foreach (var (h, w) in Geometries().Concat(Lengths().Select(l => (new ConvAxis(1, 1), l))))
            {
                const int planes = 3;
                int n = planes * h.In * w.In, len = planes * h.Out * w.Out;
                var x = Check.Rand(n, rng);
                var dy = Check.Rand(len, rng);
                var y = new GuardedBuffer(len, float.NaN);
                var dx = new GuardedBuffer(n, float.NaN);
                var yr = new float[len];
                var dxr = new float[n];
                fixed (float* px = x, pdy = dy, py = y.Data, pdx = dx.Data, pyr = yr, pdxr = dxr)
                {
                    Pool.AvgForward2d(px, py, planes, h, w, wd);
                    Pool.AvgBackward2d(pdy, pdx, planes, h, w, wd);
                    PoolReference.AvgForward2d(px, pyr, planes, h, w);
                    PoolReference.AvgBackward2d(pdy, pdxr, planes, h, w);
                }
                Check.Close(y.Span, yr, 1e-6, 1e-5, $"fwd {wd} {h} {w}");
                Check.Close(dx.Span, dxr, 1e-6, 1e-5, $"bwd {wd} {h} {w}");
                y.AssertGuard($"fwd {wd} {h} {w}");
                dx.AssertGuard($"bwd {wd} {h} {w}");
                // Average pooling is linear: <dy, A x> = <A^T dy, x>.
                Assert.That(Check.Dot(dx.Span, x), Is.EqualTo(Check.Dot(dy, yr)).Within(1e-4), $"adjoint {wd} {h} {w}");
            }
    }

    [Test]
    public void GlobalAverageMatchesReference()
    {
        var rng = new Random(23);
        foreach (var wd in Check.Paths)
            for (int size = 0; size <= 257; size++)
            {
                const int planes = 3;
                var x = Check.Rand(planes * size, rng);
                var dy = Check.Rand(planes, rng);
                var y = new GuardedBuffer(planes);
                var dx = new GuardedBuffer(planes * size);
                var yr = new float[planes];
                fixed (float* px = x, pdy = dy, py = y.Data, pdx = dx.Data, pyr = yr)
                {
                    Pool.GlobalAvgForward(px, py, planes, size, wd);
                    Pool.GlobalAvgBackward(pdy, pdx, planes, size, wd);
                    PoolReference.GlobalAvgForward(px, pyr, planes, size);
                }
                Check.Close(y.Span, yr, 1e-6, 1e-5, $"{wd} size={size}");
                y.AssertGuard($"{wd} size={size}");
                dx.AssertGuard($"{wd} size={size}");
                for (int i = 0; i < planes * size; i++) Assert.That(dx.Data[i], Is.EqualTo(dy[i / size] / size), $"{wd} size={size}");
            }
    }
}
