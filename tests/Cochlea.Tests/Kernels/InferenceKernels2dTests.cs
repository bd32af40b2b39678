// The runtime kernels added for the spectral keyword spotters, against scalar references in double on every
// SIMD path: channels-last im2row (exact copy, 'same' and asymmetric padding, strides) and the conv2d it makes
// with FusedDense (against a direct convolution), max pooling, and the bidirectional ReLU recurrence (float32 and
// int8 recurrent weights, T = 1 and odd/even step counts); each output followed by a guard region.
using Cochlea.Kernels.Inference;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class InferenceKernels2dTests
{
    static readonly (int Kh, int Kw, int Sh, int Sw, int Top, int Bottom, int Left, int Right)[] Geometries =
    [
        (1, 1, 1, 1, 0, 0, 0, 0), (3, 3, 1, 1, 1, 1, 1, 1), (20, 8, 1, 1, 9, 10, 3, 4), (10, 4, 1, 1, 4, 5, 1, 2), (3, 2, 2, 3, 0, 2, 1, 0),
    ];

    [Test]
    public void Im2RowCopiesTheWindowsWithZeroPadding()
    {
        var rng = new Random(21);
        foreach (var (h, w, c) in new[] { (1, 1, 1), (5, 7, 1), (12, 9, 3), (24, 10, 8) })
            foreach (var g in Geometries)
            {
                int ho = TimeMajor.OutLength(h, g.Kh, g.Sh, g.Top, g.Bottom), wo = TimeMajor.OutLength(w, g.Kw, g.Sw, g.Left, g.Right);
                if (ho < 1 || wo < 1) continue;
                var x = Check.Rand(h * w * c, rng);
                int depth = g.Kh * g.Kw * c;
                var dst = new GuardedBuffer(ho * wo * depth);
                fixed (float* px = x, pd = dst.Data) ChannelsLast.Im2Row(px, h, w, c, g.Kh, g.Kw, g.Sh, g.Sw, g.Top, g.Left, pd, ho, wo);
                var r = new float[ho * wo * depth];
                for (int i = 0; i < ho; i++)
                    for (int j = 0; j < wo; j++)
                        for (int qh = 0; qh < g.Kh; qh++)
                            for (int qw = 0; qw < g.Kw; qw++)
                                for (int ch = 0; ch < c; ch++)
                                {
                                    int r0 = i * g.Sh + qh - g.Top, c0 = j * g.Sw + qw - g.Left;
                                    bool inside = r0 >= 0 && r0 < h && c0 >= 0 && c0 < w;
                                    r[(i * wo + j) * depth + (qh * g.Kw + qw) * c + ch] = inside ? x[(r0 * w + c0) * c + ch] : 0;
                                }
                Check.Close(dst.Span, r, 0, 0, $"{h}x{w}x{c} {g}");
                dst.AssertGuard($"im2row 2d {h}x{w}x{c} {g}");
            }
    }

    [Test]
    public void Conv2dThroughIm2RowMatchesADirectConvolution()
    {
        var rng = new Random(22);
        foreach (var width in Check.Paths)
            foreach (var (h, w, cin, cout) in new[] { (6, 5, 1, 3), (13, 8, 2, 17), (10, 6, 5, 64) })
                foreach (var g in Geometries)
                {
                    int ho = TimeMajor.OutLength(h, g.Kh, g.Sh, g.Top, g.Bottom), wo = TimeMajor.OutLength(w, g.Kw, g.Sw, g.Left, g.Right);
                    if (ho < 1 || wo < 1) continue;
                    int depth = g.Kh * g.Kw * cin;
                    var x = Check.Rand(h * w * cin, rng);
                    var wt = Check.Rand(depth * cout, rng);
                    var b = Check.Rand(cout, rng);
                    var rows = new float[ho * wo * depth];
                    var y = new GuardedBuffer(ho * wo * cout);
                    fixed (float* px = x, pr = rows, pw = wt, pb = b, py = y.Data)
                    {
                        ChannelsLast.Im2Row(px, h, w, cin, g.Kh, g.Kw, g.Sh, g.Sw, g.Top, g.Left, pr, ho, wo);
                        FusedDense.Run(pr, ho * wo, depth, pw, cout, pb, py, FusedActivation.Relu, 0, cout, width);
                    }
                    var r = new double[ho * wo * cout];
                    for (int i = 0; i < ho; i++)
                        for (int j = 0; j < wo; j++)
                            for (int o = 0; o < cout; o++)
                            {
                                double s = b[o];
                                for (int qh = 0; qh < g.Kh; qh++)
                                    for (int qw = 0; qw < g.Kw; qw++)
                                    {
                                        int r0 = i * g.Sh + qh - g.Top, c0 = j * g.Sw + qw - g.Left;
                                        if (r0 < 0 || r0 >= h || c0 < 0 || c0 >= w) continue;
                                        for (int c = 0; c < cin; c++) s += (double)x[(r0 * w + c0) * cin + c] * wt[((qh * g.Kw + qw) * cin + c) * cout + o];
                                    }
                                r[(i * wo + j) * cout + o] = Math.Max(s, 0);
                            }
                    Check.Close(y.Span, r, 1e-5, 1e-5, $"{width} {h}x{w}x{cin}->{cout} {g}");
                    y.AssertGuard($"conv2d {width}");
                }
    }

    [Test]
    public void MaxPool2dMatchesReference()
    {
        var rng = new Random(23);
        foreach (var width in Check.Paths)
            foreach (var (h, w, c) in new[] { (2, 2, 1), (5, 4, 3), (98, 40, 64), (9, 7, 17) })
                foreach (var (ph, pw, sh, sw) in new[] { (2, 2, 2, 2), (3, 2, 1, 2), (1, 1, 1, 1), (3, 3, 2, 2) })
                {
                    int ho = ChannelsLast.PoolLength(h, ph, sh), wo = ChannelsLast.PoolLength(w, pw, sw);
                    var x = Check.Rand(h * w * c, rng);
                    var y = new GuardedBuffer(ho * wo * c);
                    fixed (float* px = x, py = y.Data) ChannelsLast.MaxPool2d(px, h, w, c, ph, pw, sh, sw, py, width);
                    var r = new float[ho * wo * c];
                    for (int i = 0; i < ho; i++)
                        for (int j = 0; j < wo; j++)
                            for (int ch = 0; ch < c; ch++)
                            {
                                float m = float.NegativeInfinity;
                                for (int qh = 0; qh < ph; qh++)
                                    for (int qw = 0; qw < pw; qw++) m = Math.Max(m, x[((i * sh + qh) * w + j * sw + qw) * c + ch]);
                                r[(i * wo + j) * c + ch] = m;
                            }
                    Check.Close(y.Span, r, 0, 0, $"{width} {h}x{w}x{c} pool {ph}x{pw}/{sh}x{sw}");
                    y.AssertGuard($"max pool {width}");
                }
    }

    /// <summary>Final state of h_t = relu(a[t] + h_{t-1} u) from zero, in double, forwards or backwards.</summary>
    static double[] RnnRef(float[] a, int t, int h, float[] u, bool reverse)
    {
        var s = new double[h];
        for (int step = 0; step < t; step++)
        {
            int row = reverse ? t - 1 - step : step;
            var next = new double[h];
            for (int j = 0; j < h; j++)
            {
                double v = a[row * h + j];
                for (int p = 0; p < h; p++) v += s[p] * u[p * h + j];
                next[j] = Math.Max(v, 0);
            }
            s = next;
        }
        return s;
    }

    [Test]
    public void BidirectionalReluRecurrenceMatchesReference()
    {
        var rng = new Random(24);
        foreach (var width in Check.Paths)
            foreach (int t in new[] { 1, 2, 5, 8 })
                foreach (int h in new[] { 1, 7, 16, 33 })
                    foreach (bool int8 in new[] { false, true })
                    {
                        // Recurrent weights scaled so the state neither dies nor explodes over the steps.
                        var a = Check.Rand(t * h, rng);
                        var fq = new sbyte[h * h + 64];
                        var bq = new sbyte[h * h + 64];
                        for (int i = 0; i < h * h; i++) { fq[i] = (sbyte)rng.Next(-127, 128); bq[i] = (sbyte)rng.Next(-127, 128); }
                        float sc = 1f / (127 * MathF.Sqrt(h));
                        var fs = Enumerable.Repeat(sc, h).ToArray();
                        var bs = Enumerable.Repeat(sc * 0.8f, h).ToArray();
                        var fw = new float[h * h];
                        var bw = new float[h * h];
                        for (int p = 0; p < h; p++) for (int j = 0; j < h; j++) { fw[p * h + j] = fq[p * h + j] * fs[j]; bw[p * h + j] = bq[p * h + j] * bs[j]; }
                        var fwd = RnnRef(a, t, h, fw, false);
                        var bwd = RnnRef(a, t, h, bw, true);
                        var y = new GuardedBuffer(h);
                        var scratch = new float[2 * h];
                        fixed (float* pa = a, pfw = fw, pbw = bw, pfs = fs, pbs = bs, py = y.Data, ps = scratch)
                        fixed (sbyte* pfq = fq, pbq = bq)
                        {
                            var f = int8 ? new DenseWeights(null, pfq, pfs) : new DenseWeights(pfw, null, null);
                            var b = int8 ? new DenseWeights(null, pbq, pbs) : new DenseWeights(pbw, null, null);
                            Recurrence.BidirectionalReluLast(pa, t, h, f, b, py, ps, width);
                        }
                        Check.Close(y.Span, fwd.Zip(bwd, (p, q) => p + q).ToArray(), 1e-5, 1e-5, $"{width} t {t} h {h} int8 {int8}");
                        y.AssertGuard($"recurrence {width}");
                    }
    }
}
