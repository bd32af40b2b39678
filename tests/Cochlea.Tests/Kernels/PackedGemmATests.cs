// PackedGemmA (A packed once, read in place by the GEMM driver): Sgemm.RunFused with the pack gives bit for bit what it
// gives without (same panels, same k order) on every SIMD path, 1 and 3 threads, over shapes that reach each code path
// (GEMV and narrow C read A itself; the blocked driver with edge rows, several KC slabs and K super-blocks), with an
// epilogue, a padded A and a guard after C; that common result is also checked against the scalar reference GEMM. A pack
// of another shape is refused by name; a pack made for another path is not used (the same bits again).
using Cochlea.Kernels;
using Cochlea.Kernels.Gemm;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class PackedGemmATests
{
    static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 70, 9), (33, 1, 20), (64, 7, 40), (9, 33, 5), (17, 65, 31), (70, 300, 1100), (200, 97, 600), (13, 4700, 1300), (4, 5, 0),
    ];

    static IEnumerable<TestCaseData> Cases()
    {
        foreach (var w in Simd.Available)
            foreach (var (m, n, k) in Shapes)
                yield return new TestCaseData(w, m, n, k).SetName($"Packed A equals unpacked {w} {m}x{n}x{k}");
    }

    [TestCaseSource(nameof(Cases))]
    public void PackedAGivesTheUnpackedBitsAndMatchesTheReference(SimdWidth w, int m, int n, int k)
    {
        using var t = new GemmTests.Operands(false, false, m, n, k, pad: 3, seed: m + 31 * n + k);
        var rng = new Random(m * 7 + k);
        float[] scale = Enumerable.Range(0, Math.Max(m, 1)).Select(_ => (float)(rng.NextDouble() + 0.5)).ToArray();
        float[] shift = Enumerable.Range(0, Math.Max(m, 1)).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        using var pack = new PackedGemmA(m, k, t.A, t.Lda, w);
        fixed (float* ps = scale, pt = shift)
        {
            var epi = new GemmEpilogue(ps, pt, null, 0, relu: true);
            t.FillC(5);
            var expected = new Span<float>(t.C, t.CCount + GemmTests.Guard).ToArray();
            fixed (float* e = expected)
            {
                GemmReference.Sgemm(false, false, m, n, k, 1.5f, t.A, t.Lda, t.B, t.Ldb, 0.5f, e, t.Ldc);
                epi.Reference(e, t.Ldc, m, n);
            }
            foreach (int threads in new[] { 1, 3 })
            {
                t.FillC(5);
                Sgemm.RunFused(false, false, m, n, k, 1.5f, t.A, t.Lda, t.B, t.Ldb, 0.5f, t.C, t.Ldc, epi, w, threads);
                var plain = new Span<float>(t.C, t.CCount + GemmTests.Guard).ToArray();
                t.FillC(5);
                Sgemm.RunFused(false, false, m, n, k, 1.5f, t.A, t.Lda, t.B, t.Ldb, 0.5f, t.C, t.Ldc, epi, w, threads, pack);
                Assert.That(new Span<float>(t.C, t.CCount + GemmTests.Guard).ToArray(), Is.EqualTo(plain), $"{w} {m}x{n}x{k} threads={threads}: packed vs unpacked");
                GemmTests.AssertMatches(t, expected, $"{w} {m}x{n}x{k} threads={threads} vs reference");
            }
        }
    }

    [Test]
    public void APackForAnotherPathIsNotUsedAndAWrongShapeIsRefused()
    {
        const int m = 20, n = 90, k = 70;
        using var t = new GemmTests.Operands(false, false, m, n, k, pad: 0, seed: 9);
        // A pack laid out for the scalar tile (4 rows) used on the best path (8 or 6 rows) would be read wrongly: it is ignored.
        using var scalarPack = new PackedGemmA(m, k, t.A, t.Lda, SimdWidth.Scalar);
        Sgemm.RunFused(false, false, m, n, k, 1f, t.A, t.Lda, t.B, t.Ldb, 0f, t.C, t.Ldc, default, Simd.Best, 1);
        var plain = new Span<float>(t.C, t.CCount).ToArray();
        Sgemm.RunFused(false, false, m, n, k, 1f, t.A, t.Lda, t.B, t.Ldb, 0f, t.C, t.Ldc, default, Simd.Best, 1, scalarPack);
        Assert.That(new Span<float>(t.C, t.CCount).ToArray(), Is.EqualTo(plain));

        using var other = new PackedGemmA(m, k - 1, t.A, t.Lda);
        var ex = Assert.Throws<ArgumentException>(() =>
            Sgemm.RunFused(false, false, m, n, k, 1f, t.A, t.Lda, t.B, t.Ldb, 0f, t.C, t.Ldc, default, Simd.Best, 1, other));
        Assert.That(ex!.Message, Does.Contain("packedA is (20, 69)").And.Contain("(20, 70)"));
        ex = Assert.Throws<ArgumentException>(() =>
            Sgemm.RunFused(true, false, m, n, k, 1f, t.A, m, t.B, t.Ldb, 0f, t.C, t.Ldc, default, Simd.Best, 1, new PackedGemmA(m, k, t.A, t.Lda)));
        Assert.That(ex!.Message, Does.Contain("transposed"));
    }
}
