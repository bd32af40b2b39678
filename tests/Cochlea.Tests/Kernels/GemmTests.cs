// Sgemm against the scalar reference, on every SIMD path this process runs (Simd.Available), all four
// transpose combinations, sizes around the micro-tile (MR 4..8, NR 2..32) and cache-block edges
// (KC = 512, MC = 192, K super-blocks), padded leading dimensions, alpha/beta combinations, and a guard after C.
using System.Runtime.InteropServices;
using Cochlea.Kernels;
using Cochlea.Kernels.Gemm;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class GemmTests
{
    internal const float Sentinel = -12345.5f;
    internal const int Guard = 67;

    /// <summary>(m, n, k): zeros, ones, odd shapes, tile and block edges, matrix-vector shapes.</summary>
    static readonly (int M, int N, int K)[] Shapes =
    [
        (0, 5, 3), (5, 0, 3), (4, 5, 0), (1, 1, 1), (1, 17, 33), (17, 1, 33), (1, 257, 5), (129, 1, 7),
        (2, 3, 5), (3, 7, 2), (7, 13, 3), (13, 31, 17), (16, 16, 16), (17, 33, 7), (14, 32, 64), (15, 33, 65),
        (31, 64, 65), (33, 65, 129), (64, 127, 31), (65, 33, 257), (127, 129, 13), (129, 257, 64),
        (28, 64, 513), (337, 35, 20), (2, 4100, 3), (9, 600, 2200), // last: K cut into super-blocks
        // narrow C (n below one micro-panel: GemmNarrow when A is row-major): WaveKws' late layers at batch 1
        (512, 3, 512), (384, 11, 384), (6, 15, 47), (9, 31, 100), (5, 7, 16), (3, 2, 70),
    ];

    static IEnumerable<TestCaseData> PathsTransposesShapes()
    {
        foreach (var w in Simd.Available)
            foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
                foreach (var (m, n, k) in Shapes)
                    yield return new TestCaseData(w, ta, tb, m, n, k).SetName($"Matches reference {w} tA={ta} tB={tb} {m}x{n}x{k}");
    }

    [TestCaseSource(nameof(PathsTransposesShapes))]
    public void MatchesReference(SimdWidth w, bool ta, bool tb, int m, int n, int k)
        => Check(w, ta, tb, m, n, k, alpha: 1.5f, beta: 0.5f, pad: 3, threads: 1);

    [Test]
    public void AlphaBetaCombinations(
        [ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w,
        [Values(0f, 1f, -0.75f)] float alpha, [Values(0f, 1f, 2f)] float beta,
        [Values(1, 23)] int m)
    {
        Check(w, false, false, m, 37, 19, alpha, beta, pad: 5, threads: 1);
        Check(w, true, true, m, 37, 19, alpha, beta, pad: 0, threads: 1);
    }

    [Test]
    public void BetaZeroIgnoresNaNInC([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w, [Values(1, 9, 40)] int m, [Values(45, 5)] int n)
    {
        using var t = new Operands(false, false, m, n, 30, pad: 2, seed: 7);
        new Span<float>(t.C, t.CCount).Fill(float.NaN);
        Sgemm.Run(false, false, m, n, 30, 1f, t.A, t.Lda, t.B, t.Ldb, 0f, t.C, t.Ldc, w, 1);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                Assert.That(float.IsFinite(t.C[i * t.Ldc + j]), $"C[{i},{j}] is {t.C[i * t.Ldc + j]}");
    }

    [Test]
    public void MultiThreadEqualsSingleThreadBitwise(
        [ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w,
        [Values(false, true)] bool ta, [Values(false, true)] bool tb)
    {
        foreach (var (m, n, k) in new[] { (203, 301, 97), (45, 530, 300), (400, 700, 300), (1, 8200, 1200), (6001, 1, 1400), (2001, 9, 600) })
        {
            using var t = new Operands(ta, tb, m, n, k, pad: 1, seed: 11);
            var single = Result(t, w, 1);
            foreach (int threads in new[] { 2, 3, 5 })
                Assert.That(Result(t, w, threads), Is.EqualTo(single), $"{m}x{n}x{k} threads={threads}");
        }

        static float[] Result(Operands t, SimdWidth w, int threads)
        {
            t.FillC(3);
            Sgemm.Run(t.TransA, t.TransB, t.M, t.N, t.K, 0.7f, t.A, t.Lda, t.B, t.Ldb, 0.3f, t.C, t.Ldc, w, threads);
            return new Span<float>(t.C, t.CCount).ToArray();
        }
    }

    [Test]
    public void RepeatedRunsAreIdentical([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w)
    {
        using var t = new Operands(false, false, 150, 170, 300, pad: 0, seed: 5);
        Sgemm.Run(false, false, 150, 170, 300, 1f, t.A, t.Lda, t.B, t.Ldb, 0f, t.C, t.Ldc, w, 2);
        var first = new Span<float>(t.C, t.CCount).ToArray();
        Sgemm.Run(false, false, 150, 170, 300, 1f, t.A, t.Lda, t.B, t.Ldb, 0f, t.C, t.Ldc, w, 2);
        Assert.That(new Span<float>(t.C, t.CCount).ToArray(), Is.EqualTo(first));
    }

    [Test]
    public void BatchedMatchesPerMatrixReference(
        [ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w,
        [Values(false, true)] bool ta, [Values(false, true)] bool tb, [Values(1, 2)] int threads)
    {
        const int batch = 4, m = 19, n = 21, k = 35;
        int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
        long sa = (long)(ta ? k : m) * lda + 5, sb = (long)(tb ? n : k) * ldb + 7, sc = (long)m * ldc + 9;
        using var buf = new Buffers(batch * sa, batch * sb, batch * sc, seed: 13);
        buf.FillC(17);
        var expected = new Span<float>(buf.C, (int)(batch * sc)).ToArray();
        fixed (float* e = expected)
            for (int i = 0; i < batch; i++)
                GemmReference.Sgemm(ta, tb, m, n, k, 1.25f, buf.A + i * sa, lda, buf.B + i * sb, ldb, -0.5f, e + i * sc, ldc);
        Sgemm.RunBatched(ta, tb, m, n, k, 1.25f, buf.A, lda, sa, buf.B, ldb, sb, -0.5f, buf.C, ldc, sc, batch, w, threads);
        for (int i = 0; i < batch * sc; i++)
            Assert.That(buf.C[i], Is.EqualTo(expected[i]).Within(1e-4 + 1e-4 * Math.Abs(expected[i])), $"index {i}");
        for (int i = 0; i < Guard; i++) Assert.That(buf.C[batch * sc + i], Is.EqualTo(Sentinel), "guard after C");
    }

    [Test]
    public void RejectsBadArguments()
    {
        float* p = stackalloc float[16];
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Run(false, false, -1, 2, 2, 1f, p, 2, p, 2, 0f, p, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Run(false, false, 2, 2, 3, 1f, p, 2, p, 2, 0f, p, 2)); // lda < k
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Run(false, true, 2, 2, 3, 1f, p, 3, p, 2, 0f, p, 2));  // ldb < k for B^T
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Run(false, false, 2, 4, 1, 1f, p, 1, p, 4, 0f, p, 3)); // ldc < n
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Run(false, false, 2, 2, 2, 1f, p, 2, p, 2, 0f, p, 2, Simd.Best, 0));
    }

    // Runs one case on path w and compares with the reference; checks C's padding columns and the guard.
    static void Check(SimdWidth w, bool ta, bool tb, int m, int n, int k, float alpha, float beta, int pad, int threads)
    {
        using var t = new Operands(ta, tb, m, n, k, pad, seed: m * 1000 + n * 10 + k);
        t.FillC(99);
        var expected = new Span<float>(t.C, t.CCount + Guard).ToArray();
        fixed (float* e = expected)
            GemmReference.Sgemm(ta, tb, m, n, k, alpha, t.A, t.Lda, t.B, t.Ldb, beta, e, t.Ldc);
        Sgemm.Run(ta, tb, m, n, k, alpha, t.A, t.Lda, t.B, t.Ldb, beta, t.C, t.Ldc, w, threads);
        AssertMatches(t, expected, $"{w} tA={ta} tB={tb} {m}x{n}x{k}");
    }

    /// <summary>t.C against the reference result (atol + rtol*|ref| inside, exact in the padding columns) and the guard after C intact.</summary>
    internal static void AssertMatches(Operands t, float[] expected, string what)
    {
        double atol = 2e-6 * (t.K + 1), rtol = 1e-4;
        for (int i = 0; i < t.M; i++)
            for (int j = 0; j < t.Ldc; j++)
            {
                float got = t.C[i * t.Ldc + j], want = expected[i * t.Ldc + j];
                if (j >= t.N) Assert.That(got, Is.EqualTo(want), $"C padding [{i},{j}] was written");
                else if (Math.Abs(got - want) > atol + rtol * Math.Abs(want))
                    Assert.Fail($"{what}: C[{i},{j}] = {got}, reference {want}");
            }
        for (int i = 0; i < Guard; i++) Assert.That(t.C[t.CCount + i], Is.EqualTo(Sentinel), "guard after C was written");
    }

    /// <summary>Operands of one GEMM with padded leading dimensions; C is followed by a sentinel guard.</summary>
    internal sealed class Operands : IDisposable
    {
        public readonly bool TransA, TransB;
        public readonly int M, N, K, Lda, Ldb, Ldc, CCount;
        readonly Buffers _buf;
        public float* A => _buf.A;
        public float* B => _buf.B;
        public float* C => _buf.C;

        public Operands(bool ta, bool tb, int m, int n, int k, int pad, int seed)
        {
            TransA = ta; TransB = tb; M = m; N = n; K = k;
            Lda = Math.Max(1, ta ? m : k) + pad; Ldb = Math.Max(1, tb ? k : n) + pad; Ldc = Math.Max(1, n) + pad;
            CCount = m * Ldc;
            _buf = new Buffers((long)(ta ? k : m) * Lda, (long)(tb ? n : k) * Ldb, CCount, seed);
        }

        public void FillC(int seed) => _buf.FillC(seed);
        public void Dispose() => _buf.Dispose();
    }

    /// <summary>Native A, B, C buffers with random values in [-1, 1), and Guard sentinels after C.</summary>
    internal sealed class Buffers : IDisposable
    {
        public readonly float* A, B, C;
        readonly long _cCount;

        public Buffers(long aCount, long bCount, long cCount, int seed)
        {
            _cCount = cCount;
            A = Alloc(aCount); B = Alloc(bCount); C = Alloc(cCount + Guard);
            var rng = new Random(seed);
            for (long i = 0; i < aCount; i++) A[i] = (float)(rng.NextDouble() * 2 - 1);
            for (long i = 0; i < bCount; i++) B[i] = (float)(rng.NextDouble() * 2 - 1);
            FillC(seed + 1);
        }

        public void FillC(int seed)
        {
            var rng = new Random(seed);
            for (long i = 0; i < _cCount; i++) C[i] = (float)(rng.NextDouble() * 2 - 1);
            for (long i = 0; i < Guard; i++) C[_cCount + i] = Sentinel;
        }

        static float* Alloc(long count) => (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(1, count) * sizeof(float)), 64);

        public void Dispose()
        {
            NativeMemory.AlignedFree(A); NativeMemory.AlignedFree(B); NativeMemory.AlignedFree(C);
        }
    }
}
