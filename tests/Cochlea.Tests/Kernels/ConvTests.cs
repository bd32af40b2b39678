// Convolution helpers: ConvShape rules, im2col/col2im against the element-wise reference, a full
// grouped conv through im2col + Sgemm against the direct reference, its input/weight gradients
// by the adjoint identity <dy, J dx> = <J^T dy, dx>, and the depthwise kernels on every path.
using Cochlea.Kernels;
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Gemm;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class ConvShapeTests
{
    [TestCase(10, 3, 1, 0, 0, 1, 8)]
    [TestCase(10, 3, 2, 1, 1, 1, 5)]
    [TestCase(10, 3, 2, 0, 0, 2, 3)]
    [TestCase(2, 5, 1, 0, 0, 1, 0)]
    [TestCase(0, 1, 1, 0, 0, 1, 0)]
    [TestCase(7, 2, 3, 2, 0, 1, 3)]
    public void OutputLengthIsPyTorchs(int input, int k, int s, int pb, int pa, int d, int expected)
        => Assert.That(ConvShape.OutputLength(input, k, s, pb, pa, d), Is.EqualTo(expected));

    [TestCase(10, 3, 2, 1, 0, 1)]   // TF: out 5, total 1 -> (0, 1)
    [TestCase(11, 3, 2, 1, 1, 1)]   // out 6, total 2
    [TestCase(10, 4, 1, 1, 1, 2)]   // PyTorch stride 1, even kernel: odd pad after
    [TestCase(10, 3, 1, 2, 2, 2)]   // dilation 2: total 4
    [TestCase(399, 3, 2, 1, 1, 1)]  // WaveKws 'same' stride 2: out 200
    [TestCase(1, 5, 3, 1, 2, 2)]
    public void SamePaddingFollowsTf(int input, int k, int s, int d, int before, int after)
    {
        var (b, a) = ConvShape.Padding(PaddingMode.Same, input, k, s, d);
        Assert.That((b, a), Is.EqualTo((before, after)));
        Assert.That(ConvAxis.Create(PaddingMode.Same, input, k, s, d).Out, Is.EqualTo((input + s - 1) / s));
    }
}

[Category("Kernels")]
public unsafe class Im2ColTests
{
    // (H, KH, sh, pt, pb, dh) x (W, KW, sw, pl, pr, dw); H = KH = 1 are the 1-d cases.
    public static IEnumerable<(ConvAxis H, ConvAxis W)> Geometries()
    {
        yield return (new(1, 1), new(17, 3, 1, 1, 1, 1));
        yield return (new(1, 1), new(40, 3, 2, 0, 1, 1));
        yield return (new(1, 1), new(33, 5, 3, 2, 0, 2));
        yield return (new(1, 1), new(2, 3, 1, 0, 0, 1));      // no output
        yield return (new(7, 3, 1, 1, 1, 1), new(9, 3, 1, 1, 1, 1));
        yield return (new(8, 3, 2, 0, 1, 1), new(11, 2, 2, 1, 0, 1));
        yield return (new(10, 4, 1, 1, 2, 2), new(21, 8, 1, 3, 4, 1));
        yield return (new(5, 1, 3, 0, 0, 1), new(37, 3, 4, 2, 2, 3));
        yield return (new(6, 2, 1, 0, 0, 1), new(70, 11, 1, 5, 5, 1));
    }

    // Geometries plus 1-d lengths 0..257 (k3 stride 2 'same', k5 dilation 2 stride 1 padded).
    static IEnumerable<(ConvAxis H, ConvAxis W)> WithLengths() => Geometries().Concat(Enumerable.Range(0, 258).SelectMany(l => new[]
    {
        (new ConvAxis(1, 1), ConvAxis.Create(PaddingMode.Same, l, 3, 2)),
        (new ConvAxis(1, 1), new ConvAxis(l, 5, 1, 3, 1, 2)),
    }));

    [Test]
    public void ForwardMatchesReference()
    {
        var rng = new Random(5);
        foreach (var (h, w) in WithLengths())
        {
            const int c = 5, c0 = 1, cg = 3;
            var x = Check.Rand(c * h.In * w.In, rng);
            int len = cg * h.Kernel * w.Kernel * h.Out * w.Out;
            var cols = new GuardedBuffer(len, float.NaN);
            var r = new float[len];
            fixed (float* px = x, pc = cols.Data, pr = r)
            {
                Im2Col.Forward2d(px, h, w, c0, cg, pc);
                ConvReference.Im2Col2d(px, h, w, c0, cg, pr);
            }
            Check.Close(cols.Span, r, 0, 0, $"{h} {w}");
            cols.AssertGuard($"{h} {w}");
        }
    }

    [Test]
    public void BackwardMatchesReference()
    {
        var rng = new Random(6);
        foreach (var wd in Check.Paths)
            foreach (var (h, w) in WithLengths())
            {
                const int c = 4, c0 = 2, cg = 2;
                int len = cg * h.Kernel * w.Kernel * h.Out * w.Out;
                var cols = Check.Rand(len, rng);
                var dx = GuardedBuffer.Random(c * h.In * w.In, rng);
                var r = dx.Copy();
                fixed (float* pc = cols, px = dx.Data, pr = r)
                {
                    Im2Col.Backward2d(pc, h, w, c0, cg, px, wd);
                    ConvReference.Col2Im2d(pc, h, w, c0, cg, pr);
                }
                Check.Close(dx.Span, r, 1e-6, 1e-6, $"{wd} {h} {w}");
                dx.AssertGuard($"{wd} {h} {w}");
            }
    }

    /// <summary>Grouped conv via im2col + one GEMM per group and image (what the Engine will do).</summary>
    static void ConvGemm(float* x, float* wt, float* y, float* cols, int n, int cin, int cout, int groups, ConvAxis h, ConvAxis w)
    {
        int cg = cin / groups, og = cout / groups, kk = cg * h.Kernel * w.Kernel, p = h.Out * w.Out;
        for (int b = 0; b < n; b++)
            for (int g = 0; g < groups; g++)
            {
                Im2Col.Forward2d(x + (long)b * cin * h.In * w.In, h, w, g * cg, cg, cols);
                Sgemm.Run(false, false, og, p, kk, 1f, wt + (long)g * og * kk, Math.Max(1, kk), cols, Math.Max(1, p), 0f, y + ((long)b * cout + g * og) * p, Math.Max(1, p)); // BLAS: ld >= max(1, cols)
            }
    }

    [Test]
    public void GroupedConvForwardAndGradientsViaGemm()
    {
        var rng = new Random(7);
        foreach (var (h, w) in Geometries())
        {
            const int n = 2, cin = 4, cout = 6, groups = 2;
            int cg = cin / groups, og = cout / groups, kk = cg * h.Kernel * w.Kernel, p = h.Out * w.Out;
            var x = Check.Rand(n * cin * h.In * w.In, rng);
            var wt = Check.Rand(cout * kk, rng);
            var dy = Check.Rand(n * cout * p, rng);
            var y = new float[n * cout * p];
            var yr = new float[n * cout * p];
            var cols = new float[Math.Max(1, kk * p)];
            var dcols = new float[Math.Max(1, kk * p)];
            var dx = new float[x.Length];
            var dw = new float[wt.Length];
            fixed (float* px = x, pw = wt, pdy = dy, py = y, pyr = yr, pc = cols, pdc = dcols, pdx = dx, pdw = dw)
            {
                ConvGemm(px, pw, py, pc, n, cin, cout, groups, h, w);
                ConvReference.Conv2d(px, pw, pyr, n, cin, cout, groups, h, w);
                for (int b = 0; b < n; b++)
                    for (int g = 0; g < groups; g++)
                    {
                        float* dyg = pdy + ((long)b * cout + g * og) * p;
                        // weight grad: dW_g += dy_g (og, p) x cols^T (p, kk)
                        Im2Col.Forward2d(px + (long)b * cin * h.In * w.In, h, w, g * cg, cg, pc);
                        Sgemm.Run(false, true, og, kk, p, 1f, dyg, Math.Max(1, p), pc, Math.Max(1, p), 1f, pdw + (long)g * og * kk, Math.Max(1, kk));
                        // input grad: dcols = W_g^T (kk, og) x dy_g (og, p), then col2im into dx
                        Sgemm.Run(true, false, kk, p, og, 1f, pw + (long)g * og * kk, Math.Max(1, kk), dyg, Math.Max(1, p), 0f, pdc, Math.Max(1, p));
                        Im2Col.Backward2d(pdc, h, w, g * cg, cg, pdx + (long)b * cin * h.In * w.In);
                    }
            }
            Check.Close(y, yr, 1e-5, 1e-5, $"forward {h} {w}");
            // Conv is bilinear: <dy, conv(x, W)> = <dx, x> = <dW, W>.
            double lhs = Check.Dot(dy, yr);
            Assert.That(Check.Dot(dx, x), Is.EqualTo(lhs).Within(1e-4 * (1 + Math.Abs(lhs))), $"input grad {h} {w}");
            Assert.That(Check.Dot(dw, wt), Is.EqualTo(lhs).Within(1e-4 * (1 + Math.Abs(lhs))), $"weight grad {h} {w}");
        }
    }
}

[Category("Kernels")]
public unsafe class DepthwiseTests
{
    static IEnumerable<(ConvAxis H, ConvAxis W, int M)> Cases()
    {
        foreach (var (h, w) in Im2ColTests.Geometries()) { yield return (h, w, 1); yield return (h, w, 2); }
        // Rows longer than the on-stack phase buffer take the scalar strided fallback.
        yield return (new(1, 1), new(9001, 3, 2, 1, 1), 1);
        yield return (new(2, 1), new(8300, 4, 3, 2, 1, 2), 2);
    }

    // The WaveKws cases: k3, stride 1 'valid' and stride 2 'same', over lengths 0..257.
    static IEnumerable<ConvAxis> KwsAxes()
    {
        for (int l = 0; l <= 257; l++)
        {
            yield return new ConvAxis(l, 3);
            yield return ConvAxis.Create(PaddingMode.Same, l, 3, 2);
            if (l % 7 == 0) yield return ConvAxis.Create(PaddingMode.Same, l, 3, 1);
        }
    }


    public enum Op { Forward, Input, Weight }

    static void Compare(Op op, ConvAxis h, ConvAxis w, int m, SimdWidth wd, Random rng, int n = 2, int c = 3)
    {
        int kk = h.Kernel * w.Kernel, inLen = n * c * h.In * w.In, outLen = n * c * m * h.Out * w.Out;
        var x = Check.Rand(inLen, rng);
        var wt = Check.Rand(c * m * kk, rng);
        var dy = Check.Rand(outLen, rng);
        int resLen = op switch { Op.Forward => outLen, Op.Input => inLen, _ => c * m * kk };
        var got = new GuardedBuffer(resLen, float.NaN);
        var want = new float[resLen];
        fixed (float* px = x, pw = wt, pdy = dy, pg = got.Data, pr = want)
        {
            switch (op)
            {
                case Op.Forward:
                    Depthwise.Forward2d(px, pw, pg, n, c, m, h, w, wd);
                    ConvReference.DepthwiseForward(px, pw, pr, n, c, m, h, w);
                    break;
                case Op.Input:
                    Depthwise.BackwardInput2d(pdy, pw, pg, n, c, m, h, w, wd);
                    ConvReference.DepthwiseBackwardInput(pdy, pw, pr, n, c, m, h, w);
                    break;
                default:
                    Depthwise.BackwardWeight2d(px, pdy, pg, n, c, m, h, w, wd);
                    ConvReference.DepthwiseBackwardWeight(px, pdy, pr, n, c, m, h, w);
                    break;
            }
        }
        // The weight gradient sums n*OH*OW float products: allow error growing with that count.
        double atol = op == Op.Weight ? 1e-5 + 2e-8 * n * h.Out * w.Out : 1e-5;
        Check.Close(got.Span, want, atol, 1e-5, $"{op} {wd} {h} {w} m={m}");
        got.AssertGuard($"{op} {wd} {h} {w} m={m}");
    }

    [Test]
    public void MatchesReference([Values] Op op)
    {
        var rng = new Random(8 + (int)op);
        foreach (var wd in Check.Paths)
            foreach (var (h, w, m) in Cases()) Compare(op, h, w, m, wd, rng);
    }

    [Test]
    public void KwsShapesMatchReference([Values] Op op)
    {
        var rng = new Random(9 + (int)op);
        foreach (var wd in Check.Paths)
            foreach (var l in KwsAxes()) Compare(op, new ConvAxis(1, 1), l, 1, wd, rng, 1, 2);
    }

    [Test]
    public void ReferenceGradientsAreAdjoint()
    {
        // <dy, F(x; W)> = <J_x^T dy, x> = <J_W^T dy, W>: checks the gradient semantics themselves.
        var rng = new Random(10);
        foreach (var (h, w, m) in Cases())
        {
            const int n = 2, c = 3;
            int kk = h.Kernel * w.Kernel;
            var x = Check.Rand(n * c * h.In * w.In, rng);
            var wt = Check.Rand(c * m * kk, rng);
            var dy = Check.Rand(n * c * m * h.Out * w.Out, rng);
            var y = new float[dy.Length];
            var dx = new float[x.Length];
            var dw = new float[wt.Length];
            fixed (float* px = x, pw = wt, pdy = dy, py = y, pdx = dx, pdw = dw)
            {
                ConvReference.DepthwiseForward(px, pw, py, n, c, m, h, w);
                Depthwise.BackwardInput2d(pdy, pw, pdx, n, c, m, h, w);
                Depthwise.BackwardWeight2d(px, pdy, pdw, n, c, m, h, w);
            }
            double lhs = Check.Dot(dy, y);
            Assert.That(Check.Dot(dx, x), Is.EqualTo(lhs).Within(1e-4 * (1 + Math.Abs(lhs))), $"input {h} {w}");
            Assert.That(Check.Dot(dw, wt), Is.EqualTo(lhs).Within(1e-4 * (1 + Math.Abs(lhs))), $"weight {h} {w}");
        }
    }
}

[Category("Kernels")]
public unsafe class ChannelMajorTests
{
    // (N, C, P): empty, single, odd, WaveKws' late layers (P = 3), and one long enough to split over threads.
    [TestCase(0, 3, 4)]
    [TestCase(3, 0, 4)]
    [TestCase(1, 1, 1)]
    [TestCase(3, 5, 7)]
    [TestCase(64, 17, 3)]
    [TestCase(2, 300, 1)]
    [TestCase(5, 33, 257)]
    public void MovesMatchTheIndexFormula(int n, int c, int p)
    {
        var rng = new Random(n * 131 + c * 7 + p);
        int len = n * c * p;
        var src = GuardedBuffer.Random(len, rng);
        var cm = new GuardedBuffer(len);
        var back = new GuardedBuffer(len);
        fixed (float* ps = src.Data, pc = cm.Data, pb = back.Data)
        {
            ChannelMajor.FromBatch(ps, pc, n, c, p);
            ChannelMajor.ToBatch(pc, pb, n, c, p);
        }
        cm.AssertGuard("FromBatch");
        back.AssertGuard("ToBatch");
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int q = 0; q < p; q++)
                    Assert.That(cm.Data[(ch * n + i) * p + q], Is.EqualTo(src.Data[(i * c + ch) * p + q]), $"cm[{ch}, {i}*P+{q}]");
        Assert.That(back.Copy(), Is.EqualTo(src.Copy()));
    }
}

[Category("Kernels")]
public unsafe class DepthwiseChannelMajorTests
{
    // The channel-major entry points (y / dy laid out (C, N, OL)) against the batch-major kernel on the same path,
    // whose results are moved by hand: same arithmetic per row, so equal to the last bit.
    [Test]
    public void ChannelMajorMatchesBatchMajor()
    {
        var rng = new Random(41);
        foreach (var wd in Check.Paths)
            foreach (var (n, c, len, k, stride, pb, pa) in new[] { (3, 4, 17, 3, 1, 0, 0), (2, 5, 20, 3, 2, 0, 1), (4, 3, 9, 3, 2, 1, 1), (64, 2, 11, 3, 1, 0, 0), (2, 3, 400, 5, 2, 2, 2) })
            {
                var ax = new ConvAxis(len, k, stride, pb, pa);
                int ol = ax.Out;
                var x = Check.Rand(n * c * len, rng); var w = Check.Rand(c * k, rng); var dyCm = Check.Rand(c * n * ol, rng);
                var dyBm = new float[dyCm.Length];
                for (int ch = 0; ch < c; ch++) for (int b = 0; b < n; b++) for (int q = 0; q < ol; q++) dyBm[(b * c + ch) * ol + q] = dyCm[(ch * n + b) * ol + q];
                var yCm = new GuardedBuffer(c * n * ol); var yBm = new float[c * n * ol];
                var dxCm = new GuardedBuffer(n * c * len); var dxBm = new float[n * c * len];
                var dwCm = new GuardedBuffer(c * k); var dwBm = new float[c * k];
                fixed (float* px = x, pw = w, pdyc = dyCm, pdyb = dyBm, pyc = yCm.Data, pyb = yBm, pdxc = dxCm.Data, pdxb = dxBm, pdwc = dwCm.Data, pdwb = dwBm)
                {
                    Depthwise.Forward1dChannelMajor(px, pw, pyc, n, c, 1, ax, wd);
                    Depthwise.Forward1d(px, pw, pyb, n, c, 1, ax, wd);
                    Depthwise.BackwardInput1dChannelMajor(pdyc, pw, pdxc, n, c, 1, ax, wd);
                    Depthwise.BackwardInput1d(pdyb, pw, pdxb, n, c, 1, ax, wd);
                    Depthwise.BackwardWeight1dChannelMajor(px, pdyc, pdwc, n, c, 1, ax, wd);
                    Depthwise.BackwardWeight1d(px, pdyb, pdwb, n, c, 1, ax, wd);
                }
                var yMoved = new float[yBm.Length];
                for (int ch = 0; ch < c; ch++) for (int b = 0; b < n; b++) for (int q = 0; q < ol; q++) yMoved[(ch * n + b) * ol + q] = yBm[(b * c + ch) * ol + q];
                string what = $"{wd} n{n} c{c} l{len} k{k} s{stride}";
                Assert.That(yCm.Span.ToArray(), Is.EqualTo(yMoved), "y " + what);
                Assert.That(dxCm.Span.ToArray(), Is.EqualTo(dxBm), "dx " + what);
                Assert.That(dwCm.Span.ToArray(), Is.EqualTo(dwBm), "dw " + what);
                foreach (var g in new[] { yCm, dxCm, dwCm }) g.AssertGuard(what);
            }
    }
}
