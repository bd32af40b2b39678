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
                if (m > 1 && n >= NarrowBelow(w)) Assert.That(new Span<float>(t.C, t.CCount).ToArray(), Is.EqualTo(viaSgemm), "bit-identical to Sgemm.Run");
            }
        }
    }

    // Sgemm's micro-panel width NR on each path: narrower C goes to GemmNarrow.
    static int NarrowBelow(SimdWidth w) => w switch { SimdWidth.V512 => 32, SimdWidth.V256 => 16, SimdWidth.V128 => 8, _ => 2 };

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
