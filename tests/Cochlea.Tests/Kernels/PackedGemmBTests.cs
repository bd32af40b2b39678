// PackedGemmB (B packed once, reused by many GEMMs) against the scalar reference on every SIMD path, both
// layouts of B, odd shapes and KC slab edges, alpha/beta, padded leading dimensions and a guard after C; and
// bit-identical to Sgemm.Run on the same path (same KC grid and micro-kernel) for any thread count, the
// thin-row kernel for one and two rows of A included.
using Cochlea.Kernels;
using Cochlea.Kernels.Gemm;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class PackedGemmBTests
{
    static readonly (int M, int N, int K)[] Shapes =
    [
        (0, 5, 3), (3, 0, 4), (2, 7, 0), (1, 1, 1), (1, 33, 17), (8, 1, 9), (2, 3, 5), (7, 13, 3), (8, 64, 64),
        (9, 65, 129), (8, 257, 513), (16, 600, 1030), (5, 1000, 31),
        // one and two rows (the thin-row kernel): groups of four panels, single panels, a partial last panel, KC slabs
        (1, 1000, 600), (2, 1000, 600), (1, 128, 1024), (2, 257, 513), (2, 40, 7), (3, 257, 513),
    ];

    static IEnumerable<TestCaseData> Cases()
    {
        foreach (var w in Simd.Available)
            foreach (bool tb in new[] { false, true })
                foreach (var (m, n, k) in Shapes)
                    yield return new TestCaseData(w, tb, m, n, k).SetName($"Packed B matches reference {w} tB={tb} {m}x{n}x{k}");
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesReferenceAndSgemm(SimdWidth w, bool tb, int m, int n, int k)
    {
        using var t = new GemmTests.Operands(false, tb, m, n, k, pad: 3, seed: m * 977 + n * 13 + k);
        using var packed = new PackedGemmB(tb, k, n, t.B, t.Ldb, w);
        foreach (var (alpha, beta) in new[] { (1f, 0f), (1.5f, 0.5f), (-0.75f, 1f) })
        {
            t.FillC(99);
            var expected = new Span<float>(t.C, t.CCount).ToArray();
            fixed (float* e = expected)
                GemmReference.Sgemm(false, tb, m, n, k, alpha, t.A, t.Lda, t.B, t.Ldb, beta, e, t.Ldc);
            t.FillC(99);
            Sgemm.Run(false, tb, m, n, k, alpha, t.A, t.Lda, t.B, t.Ldb, beta, t.C, t.Ldc, w, 1);
            var viaSgemm = new Span<float>(t.C, t.CCount).ToArray();
            foreach (int threads in new[] { 1, 2, 3 })
            {
                t.FillC(99);
                packed.Run(m, alpha, t.A, t.Lda, beta, t.C, t.Ldc, threads);
                GemmTests.AssertMatches(t, expected, $"{w} tB={tb} {m}x{n}x{k} alpha={alpha} beta={beta} threads={threads}");
                // Sgemm sends m == 1 and n == 1 to its GEMV and n < NR to GemmNarrow, which sum in another order;
                // elsewhere the same bits.
                if (m > 1 && n >= Sgemm.Nr(w)) Assert.That(new Span<float>(t.C, t.CCount).ToArray(), Is.EqualTo(viaSgemm), "bit-identical to Sgemm.Run");
            }
        }
    }

    static IEnumerable<TestCaseData> SparseCases()
    {
        foreach (var w in Simd.Available)
            foreach (bool tb in new[] { false, true })
                foreach (var (m, n, k) in new[] { (1, 1000, 600), (2, 257, 513), (1, 40, 7), (2, 128, 1024), (1, 1, 1) })
                    yield return new TestCaseData(w, tb, m, n, k).SetName($"Thin rows skipping zeros of A give the dense bits {w} tB={tb} {m}x{n}x{k}");
    }

    // The thin kernel (one or two rows) skips k where A is zero in every row (ReLU states): the same bits as the MR-row
    // path, which visits every k, computes for those rows; and no skipping when B holds an Inf (0 * Inf must give NaN).
    [TestCaseSource(nameof(SparseCases))]
    public void ThinRowsSkippingZerosGiveTheDenseBits(SimdWidth w, bool tb, int m, int n, int k)
    {
        using var t = new GemmTests.Operands(false, tb, 3, n, k, pad: 3, seed: n + k);
        var rng = new Random(m);
        for (int p = 0; p < k; p++)
        {
            double u = rng.NextDouble();
            if (u < 0.5) t.A[p] = 0f;                              // row 0 zero (both rows when u < 0.4)
            if (u < 0.4 || (u > 0.8 && u < 0.9)) t.A[t.Lda + p] = 0f;   // row 1: zero with row 0, or alone
            if (u < 0.1) t.A[p] = -0f;
        }
        using var packed = new PackedGemmB(tb, k, n, t.B, t.Ldb, w);
        int rowsC = m * t.Ldc;
        foreach (int threads in new[] { 1, 2 })
        {
            t.FillC(5);
            packed.Run(3, 1.5f, t.A, t.Lda, 0.5f, t.C, t.Ldc, threads);   // three rows: the (MR, NR) tiles, every k
            var dense = new Span<float>(t.C, rowsC).ToArray();
            t.FillC(5);
            packed.Run(m, 1.5f, t.A, t.Lda, 0.5f, t.C, t.Ldc, threads);
            Assert.That(new Span<float>(t.C, rowsC).ToArray(), Is.EqualTo(dense), $"threads={threads}");
        }

        // An Inf in B on a row where A is zero: the product is NaN, as the reference says.
        int p0 = 0;
        while (p0 < k - 1 && t.A[p0] != 0f) p0++;
        t.A[p0] = 0f;
        if (m > 1) t.A[t.Lda + p0] = 0f;
        t.B[tb ? p0 : (long)p0 * t.Ldb] = float.PositiveInfinity;   // op(B)[p0, 0]
        using var withInf = new PackedGemmB(tb, k, n, t.B, t.Ldb, w);
        t.FillC(5);
        withInf.Run(m, 1f, t.A, t.Lda, 0f, t.C, t.Ldc, 1);
        for (int r = 0; r < m; r++) Assert.That(t.C[r * t.Ldc], Is.NaN, $"row {r}, column 0: 0 * Inf");
    }

    static IEnumerable<TestCaseData> EpilogueCases()
    {
        foreach (var w in Simd.Available)
            foreach (var (m, n, k) in new[] { (1, 1000, 600), (2, 70, 33), (5, 257, 513), (47, 130, 300), (3, 7, 0) })
                foreach (float hi in new[] { float.PositiveInfinity, 0.3f })
                    yield return new TestCaseData(w, m, n, k, hi).SetName($"Bias and clamp epilogue {w} {m}x{n}x{k} hi={hi}");
    }

    // The fused dense epilogue (bias on every row, then clamp to [0, hi]) gives the bits of its unfused steps: C filled with the
    // bias, Run with beta = 1, the clamp after; and leaves C's padding alone.
    [TestCaseSource(nameof(EpilogueCases))]
    public void BiasAndClampEpilogueEqualsItsSteps(SimdWidth w, int m, int n, int k, float hi)
    {
        using var t = new GemmTests.Operands(false, true, m, n, k, pad: 3, seed: m + n + k);
        using var packed = new PackedGemmB(true, k, n, t.B, t.Ldb, w);
        var bias = new float[n];
        var rng = new Random(n);
        for (int j = 0; j < n; j++) bias[j] = (float)(rng.NextDouble() - 0.5);
        fixed (float* pb = bias)
            foreach (int threads in new[] { 1, 2 })
            {
                t.FillC(7);
                for (int i = 0; i < m; i++) bias.CopyTo(new Span<float>(t.C + i * t.Ldc, n));
                packed.Run(m, 1f, t.A, t.Lda, 1f, t.C, t.Ldc, threads);
                for (int i = 0; i < m * t.Ldc; i++) if (i % t.Ldc < n) t.C[i] = Math.Min(Math.Max(t.C[i], 0f), hi);
                var steps = new Span<float>(t.C, t.CCount).ToArray();
                t.FillC(7);
                packed.Run(m, 1f, t.A, t.Lda, t.C, t.Ldc, threads, pb, 0f, hi);
                Assert.That(new Span<float>(t.C, t.CCount).ToArray(), Is.EqualTo(steps), $"threads={threads}");
            }
    }

    [Test]
    public void RejectsBadArguments()
    {
        float* p = stackalloc float[16];
        Assert.Throws<ArgumentOutOfRangeException>(() => new PackedGemmB(false, 2, 4, p, 3).Dispose());   // ldb < n
        Assert.Throws<ArgumentOutOfRangeException>(() => new PackedGemmB(true, 4, 2, p, 3).Dispose());    // ldb < k for B^T
        using var b = new PackedGemmB(false, 2, 2, p, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Run(2, 1f, p, 1, 0f, p, 2, 1));                 // lda < k
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Run(2, 1f, p, 2, 0f, p, 1, 1));                 // ldc < n
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Run(2, 1f, p, 2, 0f, p, 2, 0));                 // threads
        b.Dispose();
        Assert.Throws<ObjectDisposedException>(() => b.Run(2, 1f, p, 2, 0f, p, 2, 1));
    }
}
