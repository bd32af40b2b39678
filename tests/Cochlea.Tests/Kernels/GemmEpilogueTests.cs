// Sgemm.RunFused (GemmEpilogue: per-row scale and shift, residual, ReLU applied to C tiles after their last K block)
// against the scalar reference GEMM followed by GemmEpilogue.Reference, on every SIMD path, over shapes that reach
// each code path (GEMV, narrow C, the blocked driver with edge tiles, K cut into several KC blocks and super-blocks),
// each part of the epilogue alone and all together, 1 and 2 threads, padded C and residual, and a guard after C.
using System.Runtime.InteropServices;
using Cochlea.Kernels;
using Cochlea.Kernels.Gemm;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class GemmEpilogueTests
{
    static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (1, 70, 9), (33, 1, 20), (5, 3, 17), (64, 7, 40), (9, 33, 5), (17, 65, 31), (31, 64, 65),
        (64, 72, 600), (200, 97, 1100), (13, 300, 257), (8, 257, 3), (9, 600, 2200), (4, 5, 0),
    ];

    static IEnumerable<TestCaseData> Cases()
    {
        foreach (var w in Simd.Available)
            foreach (var (m, n, k) in Shapes)
                foreach (var parts in new[] { "scale", "shift", "residual", "relu", "all" })
                    yield return new TestCaseData(w, m, n, k, parts).SetName($"RunFused matches reference {w} {m}x{n}x{k} {parts}");
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesReference(SimdWidth w, int m, int n, int k, string parts)
    {
        foreach (int threads in new[] { 1, 2 })
        {
            using var t = new GemmTests.Operands(false, false, m, n, k, pad: 3, seed: m * 100 + n + k);
            var rng = new Random(m + 7 * n + k);
            float[] Rand(int len) => Enumerable.Range(0, len).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
            float[] scale = Rand(Math.Max(m, 1)), shift = Rand(Math.Max(m, 1));
            int ldr = n + 5;
            float[] res = Rand(Math.Max(1, m * ldr));
            bool all = parts == "all";
            fixed (float* ps = scale, pt = shift, pr = res)
            {
                var epi = new GemmEpilogue(all || parts == "scale" ? ps : null, all || parts == "shift" ? pt : null,
                    all || parts == "residual" ? pr : null, ldr, all || parts == "relu");
                t.FillC(5);
                var expected = new Span<float>(t.C, t.CCount + GemmTests.Guard).ToArray();
                fixed (float* e = expected)
                {
                    GemmReference.Sgemm(false, false, m, n, k, 1.5f, t.A, t.Lda, t.B, t.Ldb, 0.5f, e, t.Ldc);
                    epi.Reference(e, t.Ldc, m, n);
                }
                Sgemm.RunFused(false, false, m, n, k, 1.5f, t.A, t.Lda, t.B, t.Ldb, 0.5f, t.C, t.Ldc, epi, w, threads);
                GemmTests.AssertMatches(t, expected, $"{w} {m}x{n}x{k} {parts} threads={threads}");
            }
        }
    }

    [Test]
    public void ReluClampsAndTheDefaultChangesNothing([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w)
    {
        const int m = 20, n = 50, k = 30;
        using var t = new GemmTests.Operands(false, false, m, n, k, pad: 0, seed: 3);
        Sgemm.Run(false, false, m, n, k, 1f, t.A, t.Lda, t.B, t.Ldb, 0f, t.C, t.Ldc, w, 1);
        var plain = new Span<float>(t.C, t.CCount).ToArray();
        Assert.That(plain.Any(v => v < 0), "the product has negative entries for ReLU to clamp");
        Sgemm.RunFused(false, false, m, n, k, 1f, t.A, t.Lda, t.B, t.Ldb, 0f, t.C, t.Ldc, default, w, 1);
        Assert.That(new Span<float>(t.C, t.CCount).ToArray(), Is.EqualTo(plain), "default epilogue");
        Sgemm.RunFused(false, false, m, n, k, 1f, t.A, t.Lda, t.B, t.Ldb, 0f, t.C, t.Ldc, new GemmEpilogue(null, null, null, 0, relu: true), w, 1);
        Assert.That(new Span<float>(t.C, t.CCount).ToArray(), Is.EqualTo(plain.Select(v => Math.Max(v, 0f)).ToArray()), "ReLU");
    }

    [Test]
    public void RejectsAResidualStrideBelowN()
    {
        float* p = stackalloc float[64];
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Sgemm.RunFused(false, false, 2, 8, 2, 1f, p, 2, p, 8, 0f, p, 8, new GemmEpilogue(null, null, p, 4, false), Simd.Best, 1));
        Assert.That(ex!.Message, Does.Contain("residual row stride"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GemmEpilogue(null, null, p, 0, false));
    }
}
