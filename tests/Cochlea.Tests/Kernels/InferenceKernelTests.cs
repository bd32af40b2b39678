// The runtime's time-major kernels (Cochlea.Kernels.Inference) on every SIMD path against scalar
// references in double: the fused dense / pointwise GEMM (bias, ReLU, column ranges, odd shapes,
// 0..n rows), depthwise conv over time (stride, padding), im2row, mean over time, peak
// normalisation and int8 dequantisation; each output followed by a guard region.
using Cochlea.Kernels;
using Cochlea.Kernels.Inference;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class InferenceKernelTests
{
    /// <summary>Output within tolerance of the reference, guard untouched.</summary>
    static void Verify(GuardedBuffer y, double[] expected, double atol, double rtol, string what)
    {
        Check.Close(y.Span, expected, atol, rtol, what);
        y.AssertGuard(what);
    }

    static double[] DenseRef(float[] x, int rows, int k, float[] w, int n, float[]? b, bool relu)
    {
        var y = new double[rows * n];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < n; j++)
            {
                double s = b?[j] ?? 0;
                for (int p = 0; p < k; p++) s += (double)x[i * k + p] * w[p * n + j];
                y[i * n + j] = relu ? Math.Max(s, 0) : s;
            }
        return y;
    }

    [Test]
    public void FusedDenseMatchesReference()
    {
        var rng = new Random(7);
        int[] rowsList = [0, 1, 2, 5, 6, 7, 13, 20];
        int[] kList = [0, 1, 3, 40, 64, 129];
        int[] nList = [1, 3, 8, 12, 17, 32, 33, 64, 70];
        foreach (var width in Check.Paths)
            foreach (int rows in rowsList)
                foreach (int k in kList)
                    foreach (int n in nList)
                        foreach (bool bias in new[] { false, true })
                        {
                            bool relu = (rows + k + n) % 2 == 0;
                            var x = Check.Rand(rows * k, rng);
                            var w = Check.Rand(k * n, rng);
                            var b = bias ? Check.Rand(n, rng) : null;
                            var y = new GuardedBuffer(rows * n);
                            fixed (float* px = x, pw = w, pb = b, py = y.Data)
                                FusedDense.Run(px, rows, k, pw, n, pb, py, relu ? FusedActivation.Relu : FusedActivation.None, 0, n, width);
                                Verify(y, DenseRef(x, rows, k, w, n, b, relu), 1e-5, 1e-5, $"{width} rows {rows} k {k} n {n} bias {bias} relu {relu}");
                        }
    }

    [Test]
    public void FusedDenseInt8MatchesReference()
    {
        var rng = new Random(17);
        foreach (var width in Check.Paths)
            foreach (int rows in new[] { 1, 2, 6, 7, 13 })
                foreach (int k in new[] { 0, 1, 5, 64, 129 })
                    foreach (int n in new[] { 1, 4, 12, 17, 32, 33, 70 })
                    {
                        var x = Check.Rand(rows * k, rng);
                        var q = new sbyte[k * n + 64];   // the kernel reads whole vectors of bytes inside the matrix only
                        for (int i = 0; i < k * n; i++) q[i] = (sbyte)rng.Next(-127, 128);
                        var s = Check.Rand(n, rng).Select(v => 0.01f + 0.02f * MathF.Abs(v)).ToArray();
                        var b = Check.Rand(n, rng);
                        var w = new float[k * n];
                        for (int p = 0; p < k; p++) for (int j = 0; j < n; j++) w[p * n + j] = q[p * n + j];
                        var r = DenseRef(x, rows, k, w, n, null, false);
                        for (int i = 0; i < rows; i++) for (int j = 0; j < n; j++) r[i * n + j] = Math.Max(r[i * n + j] * s[j] + b[j], 0);
                        var y = new GuardedBuffer(rows * n);
                        fixed (float* px = x, ps = s, pb = b, py = y.Data)
                        fixed (sbyte* pq = q)
                            FusedDense.RunInt8(px, rows, k, pq, ps, n, pb, py, FusedActivation.Relu, 0, n, width);
                        Verify(y, r, 1e-5, 1e-5, $"int8 {width} rows {rows} k {k} n {n}");
                    }
    }

    [Test]
    public void FusedDenseColumnRangesTileTheOutput()
    {
        var rng = new Random(8);
        const int rows = 9, k = 37, n = 150;
        var x = Check.Rand(rows * k, rng);
        var w = Check.Rand(k * n, rng);
        var b = Check.Rand(n, rng);
        foreach (var width in Check.Paths)
        {
            var whole = new float[rows * n];
            var parts = new float[rows * n];
            fixed (float* px = x, pw = w, pb = b, py = whole, pp = parts)
            {
                FusedDense.Run(px, rows, k, pw, n, pb, py, FusedActivation.Relu, 0, n, width);
                foreach (var (s, e) in new[] { (0, 64), (64, 128), (128, 150) })
                    FusedDense.Run(px, rows, k, pw, n, pb, pp, FusedActivation.Relu, s, e, width);
            }
            Assert.That(parts, Is.EqualTo(whole), width.ToString());
        }
    }

    [Test]
    public void FusedDenseWithAPaddedWeightStrideMatchesReference()
    {
        // w (k, n) stored with row stride ldw > n (garbage in the padding must not leak into y), float32 and int8.
        var rng = new Random(27);
        foreach (var width in Check.Paths)
            foreach (var (rows, k, n, pad) in new[] { (1, 5, 17, 3), (7, 33, 64, 16), (13, 64, 70, 64), (6, 1, 32, 1) })
            {
                int ldw = n + pad;
                var x = Check.Rand(rows * k, rng);
                var wide = Check.Rand(k * ldw, rng).Select(v => v * 100).ToArray();
                var q = new sbyte[k * ldw + 64];
                for (int i = 0; i < k * ldw; i++) q[i] = (sbyte)rng.Next(-127, 128);
                var s = Enumerable.Repeat(0.01f, n).ToArray();
                var w = new float[k * n];
                var wq = new float[k * n];
                for (int p = 0; p < k; p++) for (int j = 0; j < n; j++) { w[p * n + j] = wide[p * ldw + j]; wq[p * n + j] = q[p * ldw + j] * 0.01f; }
                var b = Check.Rand(n, rng);
                var y = new GuardedBuffer(rows * n);
                var yq = new GuardedBuffer(rows * n);
                fixed (float* px = x, pw = wide, pb = b, ps = s, py = y.Data, pyq = yq.Data)
                fixed (sbyte* pq = q)
                {
                    FusedDense.Run(px, rows, k, pw, n, pb, py, FusedActivation.None, 0, n, width, ldw);
                    FusedDense.RunInt8(px, rows, k, pq, ps, n, pb, pyq, FusedActivation.None, 0, n, width, ldw);
                }
                Verify(y, DenseRef(x, rows, k, w, n, b, false), 1e-4, 1e-5, $"{width} rows {rows} k {k} n {n} ldw {ldw}");
                Verify(yq, DenseRef(x, rows, k, wq, n, b, false), 1e-5, 1e-5, $"int8 {width} rows {rows} k {k} n {n} ldw {ldw}");
            }
    }

    [Test]
    public void DepthwiseMatchesReference()
    {
        var rng = new Random(9);
        foreach (var width in Check.Paths)
            foreach (int t in new[] { 1, 2, 3, 4, 7, 20, 33 })
                foreach (int c in new[] { 1, 3, 8, 16, 19, 64 })
                    foreach (var (kernel, stride, pad) in new[] { (3, 1, 0), (3, 2, 1), (3, 1, 1), (5, 3, 2), (1, 1, 0) })
                    {
                        int tOut = TimeMajor.OutLength(t, kernel, stride, pad, pad);
                        if (tOut == 0) continue;
                        var x = Check.Rand(t * c, rng);
                        var w = Check.Rand(kernel * c, rng);
                        var b = Check.Rand(c, rng);
                        bool relu = (t + c) % 2 == 1;
                        var y = new GuardedBuffer(tOut * c);
                        fixed (float* px = x, pw = w, pb = b, py = y.Data)
                            TimeMajor.Depthwise(px, t, c, pw, kernel, stride, pad, pb, py, tOut, relu ? FusedActivation.Relu : FusedActivation.None, width);
                        var r = new double[tOut * c];
                        for (int o = 0; o < tOut; o++)
                            for (int ch = 0; ch < c; ch++)
                            {
                                double s = b[ch];
                                for (int q = 0; q < kernel; q++)
                                {
                                    int ti = o * stride + q - pad;
                                    if (ti >= 0 && ti < t) s += (double)x[ti * c + ch] * w[q * c + ch];
                                }
                                r[o * c + ch] = relu ? Math.Max(s, 0) : s;
                            }
                        Verify(y, r, 1e-6, 1e-5, $"{width} t {t} c {c} k {kernel} s {stride} p {pad}");
                    }
    }

    [Test]
    public void Im2RowReadsOverlappingFramesInPlace()
    {
        var rng = new Random(10);
        const int samples = 233, length = 40, hop = 20;
        var wav = Check.Rand(samples, rng);
        int frames = (samples - length) / hop + 1;
        foreach (var (kernel, stride, pad) in new[] { (3, 2, 0), (3, 1, 1), (1, 1, 0) })
        {
            int tOut = TimeMajor.OutLength(frames, kernel, stride, pad, pad);
            var dst = new GuardedBuffer(tOut * kernel * length);
            fixed (float* px = wav, pd = dst.Data) TimeMajor.Im2Row(px, frames, length, hop, kernel, stride, pad, pd, tOut);
            var r = new float[tOut * kernel * length];
            for (int o = 0; o < tOut; o++)
                for (int q = 0; q < kernel; q++)
                {
                    int f = o * stride + q - pad;
                    for (int c = 0; c < length; c++) r[(o * kernel + q) * length + c] = f < 0 || f >= frames ? 0 : wav[f * hop + c];
                }
            Check.Close(dst.Span, r, 0, 0, $"k {kernel} s {stride} p {pad}");
            dst.AssertGuard("im2row");
        }
    }

    [Test]
    public void MeanOverTimeMatchesReference()
    {
        var rng = new Random(11);
        foreach (var width in Check.Paths)
            foreach (int t in new[] { 1, 2, 3, 9, 31 })
                foreach (int c in new[] { 0, 1, 5, 16, 33, 512 })
                {
                    var x = Check.Rand(t * c, rng);
                    var y = new GuardedBuffer(c);
                    fixed (float* px = x, py = y.Data) TimeMajor.MeanOverTime(px, t, c, py, width);
                    var r = new double[c];
                    for (int ch = 0; ch < c; ch++)
                    {
                        double s = 0;
                        for (int i = 0; i < t; i++) s += x[i * c + ch];
                        r[ch] = s / t;
                    }
                    Check.Close(y.Span, r, 1e-6, 1e-6, $"{width} t {t} c {c}");
                    y.AssertGuard("mean");
                }
    }

    [Test]
    public void PeakNormalizeAndDequantizeMatchReference()
    {
        var rng = new Random(12);
        for (int n = 0; n <= 257; n++)
        {
            var x = Check.Rand(n, rng);
            float scale = n % 3 == 0 ? 1e-4f : 1f;
            for (int i = 0; i < n; i++) x[i] *= scale;
            var y = new GuardedBuffer(n);
            fixed (float* px = x, py = y.Data) TimeMajor.PeakNormalize(px, n, 1e-3f, py);
            float peak = 1e-3f;
            foreach (var v in x) peak = MathF.Max(peak, MathF.Abs(v));
            Check.Close(y.Span, x.Select(v => v * (1f / peak)).ToArray(), 0, 0, $"peak n {n}");
            y.AssertGuard("peak");
        }
        foreach (var (k, n) in new[] { (1, 1), (3, 7), (17, 33) })
        {
            var q = new sbyte[k * n];
            for (int i = 0; i < q.Length; i++) q[i] = (sbyte)rng.Next(-127, 128);
            var s = Check.Rand(n, rng);
            var w = new GuardedBuffer(k * n);
            fixed (sbyte* pq = q) fixed (float* ps = s, pw = w.Data) TimeMajor.DequantizeColumns(pq, k, n, ps, pw);
            var r = new float[k * n];
            for (int p = 0; p < k; p++) for (int j = 0; j < n; j++) r[p * n + j] = q[p * n + j] * s[j];
            Check.Close(w.Span, r, 0, 0, $"dequantize {k}x{n}");
            w.AssertGuard("dequantize");
        }
    }
}
