// CTC kernel tests: the log-space reference against brute-force enumeration of every alignment,
// the scaled SIMD kernel against the reference at every width (random, repeated labels, blank
// first/last, edge lengths, peaky outputs that need the reference fallback), and the batch driver
// (padding frames, impossible sequences, thread-count determinism, guard after the output).
using Cochlea.Kernels;
using Cochlea.Kernels.Ctc;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class CtcKernelTests
{
    /// <summary>(T, C) log-softmax rows of normal logits with standard deviation <paramref name="scale"/>.</summary>
    internal static float[] LogSoftmaxRows(Random rng, int rows, int classes, double scale = 1.0)
    {
        var lp = new float[rows * classes];
        var z = new double[classes];
        for (int r = 0; r < rows; r++)
        {
            double mx = double.NegativeInfinity;
            for (int c = 0; c < classes; c++) { z[c] = scale * Gauss(rng); mx = Math.Max(mx, z[c]); }
            double s = 0;
            for (int c = 0; c < classes; c++) s += Math.Exp(z[c] - mx);
            double lse = mx + Math.Log(s);
            for (int c = 0; c < classes; c++) lp[r * classes + c] = (float)(z[c] - lse);
        }
        return lp;
    }

    static double Gauss(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    static int[] RandomLabels(Random rng, int count, int classes, int blank, double repeatChance = 0.3)
    {
        var l = new int[count];
        for (int i = 0; i < count; i++)
        {
            if (i > 0 && rng.NextDouble() < repeatChance) { l[i] = l[i - 1]; continue; }
            do l[i] = rng.Next(classes); while (l[i] == blank);
        }
        return l;
    }

    static double Reference(float[] lp, int T, int C, int[] labels, int blank, float[]? grad)
    {
        fixed (float* p = lp) fixed (int* l = labels) fixed (float* g = grad)
            return CtcReference.Sequence(p, C, C, T, l, labels.Length, blank, g, C);
    }

    static double Optimised(float[] lp, int T, int C, int[] labels, int blank, float[]? grad, SimdWidth w, out bool usedRef)
    {
        fixed (float* p = lp) fixed (int* l = labels) fixed (float* g = grad)
            return CtcKernels.Sequence(p, CtcInput.LogProbs, C, C, T, l, labels.Length, blank, g, C, w, out usedRef);
    }

    [Test]
    public void ReferenceMatchesBruteForceOverAllAlignments()
    {
        var rng = new Random(3);
        foreach (var (T, C, labels, blank) in new[]
        {
            (5, 3, new[] { 1, 2 }, 0), (5, 3, new[] { 1, 1 }, 0), (6, 3, new[] { 0, 1, 0 }, 2), (4, 4, Array.Empty<int>(), 3),
            (3, 3, new[] { 1, 1 }, 0), (2, 3, new[] { 1, 1 }, 0), (6, 4, new[] { 2, 2, 2 }, 0),
        })
        {
            var lp = LogSoftmaxRows(rng, T, C);
            // p(l | x) = sum over the C^T alignments that collapse (merge repeats, drop blanks) to l.
            double p = 0;
            var a = new int[T];
            for (long code = 0; code < (long)Math.Pow(C, T); code++)
            {
                long x = code;
                for (int t = 0; t < T; t++) { a[t] = (int)(x % C); x /= C; }
                var collapsed = new List<int>();
                for (int t = 0; t < T; t++)
                    if (a[t] != blank && (t == 0 || a[t] != a[t - 1])) collapsed.Add(a[t]);
                if (!collapsed.SequenceEqual(labels)) continue;
                double lpa = 0;
                for (int t = 0; t < T; t++) lpa += lp[t * C + a[t]];
                p += Math.Exp(lpa);
            }
            double nll = Reference(lp, T, C, labels, blank, null);
            if (p == 0) Assert.That(nll, Is.EqualTo(double.PositiveInfinity), $"T={T} labels={string.Join(",", labels)}");
            else Assert.That(nll, Is.EqualTo(-Math.Log(p)).Within(1e-5), $"T={T} labels={string.Join(",", labels)}");
        }
    }

    [Test]
    public void ReferenceGradientMatchesFiniteDifferencesThroughLogSoftmax()
    {
        // d nll / d logits by central differences of nll(log_softmax(z)) equals the reference's grad.
        var rng = new Random(11);
        int T = 7, C = 4, blank = 0;
        var labels = new[] { 1, 3, 3 };
        var z = new double[T * C];
        for (int i = 0; i < z.Length; i++) z[i] = Gauss(rng);
        float[] Lp(double[] zz)
        {
            var lp = new float[T * C];
            for (int t = 0; t < T; t++)
            {
                double mx = Enumerable.Range(0, C).Max(c => zz[t * C + c]);
                double lse = mx + Math.Log(Enumerable.Range(0, C).Sum(c => Math.Exp(zz[t * C + c] - mx)));
                for (int c = 0; c < C; c++) lp[t * C + c] = (float)(zz[t * C + c] - lse);
            }
            return lp;
        }
        var grad = new float[T * C];
        Reference(Lp(z), T, C, labels, blank, grad);
        for (int i = 0; i < z.Length; i++)
        {
            double h = 1e-3, keep = z[i];
            z[i] = keep + h; double up = Reference(Lp(z), T, C, labels, blank, null);
            z[i] = keep - h; double dn = Reference(Lp(z), T, C, labels, blank, null);
            z[i] = keep;
            Assert.That(grad[i], Is.EqualTo((up - dn) / (2 * h)).Within(2e-3), $"element {i}");
        }
    }

    static IEnumerable<(int T, int C, int L, int Blank, double Repeat)> RandomCases()
    {
        yield return (1, 2, 0, 0, 0);
        yield return (1, 3, 1, 0, 0);
        yield return (2, 3, 1, 2, 0);
        yield return (3, 3, 2, 0, 1);       // "aa" needs exactly 3 frames
        yield return (5, 5, 0, 4, 0);
        yield return (9, 5, 4, 0, 0.5);
        yield return (17, 6, 7, 5, 0.3);
        yield return (33, 29, 10, 0, 0.2);
        yield return (60, 29, 25, 28, 0.3);
        yield return (120, 29, 40, 0, 0.3);
        yield return (40, 3, 19, 0, 0.9);   // long runs of one label
    }

    [Test]
    public void ScaledKernelMatchesReferenceAtEveryWidth()
    {
        var rng = new Random(5);
        foreach (var (T, C, L, blank, rep) in RandomCases())
            foreach (var scale in new[] { 1.0, 4.0 })
            {
                var lp = LogSoftmaxRows(rng, T, C, scale);
                var labels = RandomLabels(rng, L, C, blank, rep);
                var gRef = new float[T * C];
                double nRef = Reference(lp, T, C, labels, blank, gRef);
                foreach (var w in Check.Paths)
                {
                    string what = $"T={T} C={C} L={L} blank={blank} scale={scale} {w}";
                    var g = new GuardedBuffer(T * C, 123f);
                    double n;
                    fixed (float* p = lp) fixed (int* l = labels) fixed (float* pg = g.Data)
                        n = CtcKernels.Sequence(p, CtcInput.LogProbs, C, C, T, l, L, blank, pg, C, w, out bool usedRef);
                    if (double.IsPositiveInfinity(nRef)) { Assert.That(n, Is.EqualTo(double.PositiveInfinity), what); continue; }
                    Assert.That(n, Is.EqualTo(nRef).Within(1e-6 + 1e-6 * Math.Abs(nRef)), what + " nll");
                    Check.Close(g.Span, gRef, 2e-6, 1e-5, what + " grad");
                    g.AssertGuard(what);
                }
            }
    }

    [Test]
    public void RandomOutputsNeverNeedTheReferenceFallback()
    {
        var rng = new Random(8);
        foreach (var (T, C, L, blank, rep) in RandomCases())
        {
            var lp = LogSoftmaxRows(rng, T, C, 3.0);
            var labels = RandomLabels(rng, L, C, blank, rep);
            double n = Optimised(lp, T, C, labels, blank, new float[T * C], Simd.Best, out bool usedRef);
            if (!double.IsPositiveInfinity(n)) Assert.That(usedRef, Is.False, $"T={T} L={L}");
        }
    }

    [Test]
    public void ConfidentOutputsAgreeingWithTheLabelsStayInTheScaledDomainAndAreAccurate()
    {
        // A "trained" model: each frame puts logit 40 on the class of a valid alignment of the labels.
        var rng = new Random(9);
        int T = 200, C = 29, blank = 28;
        var labels = RandomLabels(rng, 50, C, blank, 0.2);
        var align = new List<int>();
        foreach (var l in labels) { align.Add(blank); align.Add(l); align.Add(l); }
        while (align.Count < T) align.Add(blank);
        var lp = new float[T * C];
        for (int t = 0; t < T; t++)
        {
            var z = new double[C];
            for (int c = 0; c < C; c++) z[c] = Gauss(rng) + (c == align[t] ? 40 : 0);
            double mx = z.Max(), lse = mx + Math.Log(z.Sum(v => Math.Exp(v - mx)));
            for (int c = 0; c < C; c++) lp[t * C + c] = (float)(z[c] - lse);
        }
        var gRef = new float[T * C];
        double nRef = Reference(lp, T, C, labels, blank, gRef);
        foreach (var w in Check.Paths)
        {
            var g = new float[T * C];
            double n = Optimised(lp, T, C, labels, blank, g, w, out bool usedRef);
            Assert.That(usedRef, Is.False, w.ToString());
            Assert.That(n, Is.EqualTo(nRef).Within(1e-6 + 1e-6 * Math.Abs(nRef)), w + " nll");
            Check.Close(g, gRef, 2e-6, 1e-5, w + " grad");
        }
    }

    [Test]
    public void OutputsContradictingTheLabelsFallBackToTheReference()
    {
        // Confident frames of "a" then "b" then "a" (logit gap 80) for the labels "ab": forward and backward
        // beliefs disagree by hundreds of nats in the middle, beyond what the scaled domain vouches for.
        int C = 3, blank = 0, T = 12;
        var labels = new[] { 1, 2 };
        var lp = new float[T * C];
        for (int t = 0; t < T; t++)
        {
            int hot = t < 4 ? 1 : t < 8 ? 2 : 1;
            for (int c = 0; c < C; c++) lp[t * C + c] = c == hot ? 0f : -80f;
        }
        var gRef = new float[T * C];
        double nRef = Reference(lp, T, C, labels, blank, gRef);
        var g = new float[T * C];
        double n = Optimised(lp, T, C, labels, blank, g, Simd.Best, out bool usedRef);
        Assert.That(usedRef, Is.True);
        Assert.That(n, Is.EqualTo(nRef));
        Assert.That(g, Is.EqualTo(gRef));
        Assert.That(nRef, Is.GreaterThan(300).And.LessThan(double.PositiveInfinity));
    }

    [Test]
    public void ImpossibleAndEmptySequences()
    {
        var lp = LogSoftmaxRows(new Random(1), 4, 3);
        // "aa" needs 3 frames, "aab" 4, "aaa" 5: T = 4 makes the last impossible (not an error).
        Assert.That(Optimised(lp, 4, 3, [1, 1, 2], 0, null, Simd.Best, out _), Is.LessThan(double.PositiveInfinity));
        var g = new float[12];
        Array.Fill(g, 7f);
        Assert.That(Optimised(lp, 4, 3, [1, 1, 1], 0, g, Simd.Best, out _), Is.EqualTo(double.PositiveInfinity));
        Assert.That(g, Is.All.EqualTo(7f), "an impossible sequence leaves the gradient to the caller");
        Assert.That(Reference(lp, 4, 3, [1, 1, 1], 0, null), Is.EqualTo(double.PositiveInfinity));
        // T = 0: the empty labelling has probability 1, any other 0.
        Assert.That(Optimised(lp, 0, 3, [], 0, null, Simd.Best, out _), Is.EqualTo(0.0));
        Assert.That(Optimised(lp, 0, 3, [1], 0, null, Simd.Best, out _), Is.EqualTo(double.PositiveInfinity));
        // Empty labels: -sum_t lp[t, blank].
        double expect = -(lp[0] + lp[3] + lp[6] + lp[9]);
        Assert.That(Optimised(lp, 4, 3, [], 0, null, Simd.Best, out _), Is.EqualTo(expect).Within(1e-5));
    }

    [Test]
    public void BatchIsDeterministicAcrossThreadsAndHandlesPaddingAndInfinity()
    {
        var rng = new Random(21);
        int T = 30, B = 5, C = 7, blank = 6, Lmax = 8;
        var lp = LogSoftmaxRows(rng, T * B, C);
        int[] inLen = [30, 17, 1, 30, 0];
        int[] labLen = [8, 5, 2, 0, 0];   // sequence 2 is impossible (2 labels in 1 frame)
        var labels = new int[B * Lmax];
        for (int b = 0; b < B; b++) RandomLabels(rng, labLen[b], C, blank).CopyTo(labels, b * Lmax);
        int[] offsets = Enumerable.Range(0, B).Select(b => b * Lmax).ToArray();

        (double[] Nll, GuardedBuffer Grad) Run(int threads, bool zeroInf, SimdWidth w)
        {
            var nll = new double[B];
            var g = new GuardedBuffer(T * B * C, 55f);
            fixed (float* p = lp) fixed (int* l = labels) fixed (float* pg = g.Data)
                CtcKernels.Batch(p, CtcInput.LogProbs, T, B, C, inLen, l, offsets, labLen, blank, zeroInf, nll, pg, null, w, threads);
            g.AssertGuard($"threads {threads}");
            return (nll, g);
        }

        var (n1, g1) = Run(1, false, Simd.Best);
        var (n2, g2) = Run(2, false, Simd.Best);
        Assert.That(n2, Is.EqualTo(n1));
        Assert.That(g2.Copy(), Is.EqualTo(g1.Copy()), "bitwise identical for 1 and 2 threads");
        Assert.That(n1[2], Is.EqualTo(double.PositiveInfinity));
        Assert.That(n1[4], Is.EqualTo(0.0));
        var g = g1.Copy();
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                for (int c = 0; c < C; c++)
                {
                    float v = g[(t * B + b) * C + c];
                    if (t >= inLen[b]) Assert.That(v, Is.EqualTo(0f), $"padding frame t={t} b={b}");
                    else if (b == 2) Assert.That(float.IsNaN(v), $"impossible sequence gets NaN gradients (as PyTorch) t={t}");
                }
        // Per sequence, the batch equals the single-sequence kernel on the strided view.
        for (int b = 0; b < B; b++)
        {
            if (b == 2) continue;
            var gs = new float[T * B * C];
            double ns;
            fixed (float* p = lp) fixed (int* l = labels) fixed (float* pg = gs)
                ns = CtcKernels.Sequence(p + b * C, CtcInput.LogProbs, B * C, C, inLen[b], l + offsets[b], labLen[b], blank, pg + b * C, B * C, Simd.Best, out _);
            Assert.That(n1[b], Is.EqualTo(ns));
            for (int t = 0; t < inLen[b]; t++)
                for (int c = 0; c < C; c++) Assert.That(g[(t * B + b) * C + c], Is.EqualTo(gs[(t * B + b) * C + c]));
        }

        var (nz, gz) = Run(2, true, SimdWidth.Scalar);
        Assert.That(nz[2], Is.EqualTo(0.0));
        var gzc = gz.Copy();
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++) Assert.That(gzc[(t * B + 2) * C + c], Is.EqualTo(0f));
        for (int b = 0; b < B; b++) if (b != 2) Assert.That(nz[b], Is.EqualTo(n1[b]).Within(1e-7 * Math.Max(1, n1[b])));   // another width: float exp rounding differs
    }

    [Test]
    public void LogitInputsAreNormalisedPerFrameAndGradientWeightsApply()
    {
        // Logits = log-probs + an arbitrary per-frame offset: the kernel's fused log_softmax must undo it, and
        // its gradient (softmax - occupancy) times w_b equals the reference's on the log-probs times w_b.
        // Sequence 2 is confident and contradicts its labels, so it goes through the reference fallback.
        var rng = new Random(31);
        int T = 40, B = 3, C = 6, blank = 0, Lmax = 6;
        var lp = LogSoftmaxRows(rng, T * B, C, 2.0);
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++) lp[(t * B + 2) * C + c] = c == 1 + (t / 10) % 2 ? 0f : -90f;
        var logits = new float[lp.Length];
        for (int r = 0; r < T * B; r++)
        {
            float offset = (float)(rng.NextDouble() * 20 - 10);
            for (int c = 0; c < C; c++) logits[r * C + c] = lp[r * C + c] + offset;
        }
        int[] inLen = [40, 33, 40], labLen = [6, 3, 2], offsets = [0, Lmax, 2 * Lmax];
        var labels = new int[B * Lmax];
        RandomLabels(rng, 6, C, blank).CopyTo(labels, 0);
        RandomLabels(rng, 3, C, blank).CopyTo(labels, Lmax);
        labels[2 * Lmax] = 2; labels[2 * Lmax + 1] = 1;   // "2 1" against frames saying 1, 2, 1, 2
        double[] weights = [0.5, 2.0, 1.5];
        foreach (var w in Check.Paths)
        {
            var nll = new double[B];
            var g = new float[T * B * C];
            fixed (float* p = logits) fixed (int* l = labels) fixed (float* pg = g)
                CtcKernels.Batch(p, CtcInput.Logits, T, B, C, inLen, l, offsets, labLen, blank, false, nll, pg, weights, w);
            for (int b = 0; b < B; b++)
            {
                var gRef = new float[T * B * C];
                double nRef;
                fixed (float* p = lp) fixed (int* l = labels) fixed (float* pg = gRef)
                    nRef = CtcReference.Sequence(p + b * C, B * C, C, inLen[b], l + offsets[b], labLen[b], blank, pg + b * C, B * C);
                Assert.That(nll[b], Is.EqualTo(nRef).Within(2e-6 * Math.Max(1, nRef)), $"{w} sequence {b} nll");
                for (int t = 0; t < T; t++)
                    for (int c = 0; c < C; c++)
                    {
                        int i = (t * B + b) * C + c;
                        Assert.That(g[i], Is.EqualTo(weights[b] * gRef[i]).Within(1e-5), $"{w} sequence {b} t={t} c={c}");
                    }
            }
        }
        fixed (float* p = logits) fixed (int* l = labels)
        {
            CtcKernels.Sequence(p + 2 * C, CtcInput.Logits, B * C, C, T, l + 2 * Lmax, 2, blank, null, 0, Simd.Best, out bool usedRef);
            Assert.That(usedRef, Is.True, "the contradicting sequence needs the reference");
        }
    }

    [Test]
    public void BatchValidatesLengthsAndLabels()
    {
        var lp = new float[4 * 2 * 3];
        double[] nll = new double[2];
        int[] labels = [1, 2, 1, 0];
        void Run(int[] inLen, int[] labLen, int blank, int[]? labs = null)
        {
            fixed (float* p = lp) fixed (int* l = labs ?? labels)
                CtcKernels.Batch(p, CtcInput.LogProbs, 4, 2, 3, inLen, l, [0, 2], labLen, blank, false, nll, null, null, Simd.Best);
        }
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => Run([5, 4], [2, 1], 0));
        Assert.That(e1!.Message, Does.Contain("input length 5 of sequence 0"));
        var e2 = Assert.Throws<ArgumentException>(() => Run([4, 4], [2, 2], 0));
        Assert.That(e2!.Message, Does.Contain("is the blank"));
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => Run([4, 4], [2, 1], 0, [1, 3, 1, 1]));
        Assert.That(e3!.Message, Does.Contain("label 3 at position 1 of sequence 0 is out of range"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Run([4, 4], [2, 1], 3));
        Assert.DoesNotThrow(() => Run([4, 4], [2, 1], 0));
    }
}
