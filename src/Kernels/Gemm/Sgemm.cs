// Public GEMM entry points. Row-major, BLAS semantics (beta == 0 ignores C's old contents, NaN included).
// Dispatch: matrix-vector shapes go to Gemv, everything else to the packed, cache-blocked driver with
// the widest micro-kernel the process runs (GemmDriver: (MC, NC) blocks of C on a fixed grid, shared
// out among the threads).
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Threading;

using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Gemm;

/// <summary>Single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, row-major.</summary>
/// <remarks>
/// Deterministic: every element of C is computed by one thread, over k in a fixed order, on a tile grid
/// that does not depend on the thread count or on scheduling, so results are bit-identical for any thread
/// count (for a given <see cref="SimdWidth"/>). Pack buffers are thread-local and reused; the only managed
/// allocation per call is the small closure handed to the threads when the call is split.
/// </remarks>
public static unsafe class Sgemm
{
    /// <summary>Below this many flops per thread the fan-out costs more than it saves.</summary>
    const double MinFlopsPerThread = 4e6;

    /// <summary>A is (m,k) or, transposed, stored (k,m); B is (k,n) or stored (n,k); C is (m,n). Leading dimensions in elements.</summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
        => Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Simd.Best, KernelThreads.Count);

    /// <summary>As <see cref="Run(bool,bool,int,int,int,float,float*,int,float*,int,float,float*,int)"/>, on at most <paramref name="threads"/> threads.</summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int threads)
        => Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Simd.Best, threads);

    /// <summary>
    /// C(m,n) = alpha * op(A)(m,k) * op(B)(k,n) + beta * C on the given code path (tests pin each path) and at
    /// most <paramref name="threads"/> threads. op(A) = A (stored (m,k), lda &gt;= k) or A^T (stored (k,m), lda &gt;= m);
    /// op(B) = B (stored (k,n), ldb &gt;= n) or B^T (stored (n,k), ldb &gt;= k); ldc &gt;= n.
    /// </summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, SimdWidth width, int threads)
        => RunFused(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, default, width, threads);

    /// <summary>
    /// As <see cref="Run(bool,bool,int,int,int,float,float*,int,float*,int,float,float*,int,SimdWidth,int)"/>, then
    /// <paramref name="epilogue"/> on every element of C (per-row scale and shift, residual, ReLU: <see cref="GemmEpilogue"/>),
    /// applied to each tile as soon as its last K block is stored, so C is written once. The residual may not overlap C.
    /// <paramref name="packedA"/> (null: none) is the packing of this very A (not transposed, m by k, <see cref="PackedGemmA"/>):
    /// the blocked driver then reads its panels instead of packing A again; the matrix-vector and narrow paths, and a pack
    /// made for another <see cref="SimdWidth"/>, read <paramref name="a"/> as usual. Bit-identical to the call without it.
    /// </summary>
    public static void RunFused(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, in GemmEpilogue epilogue, SimdWidth width, int threads, PackedGemmA? packedA = null)
    {
        Validate(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, width, threads);
        if (epilogue.Residual != null && epilogue.Ldr < n)
            throw new ArgumentOutOfRangeException(nameof(epilogue), epilogue.Ldr, $"Expected the epilogue's residual row stride >= n ({n}).");
        if (packedA is not null && (transA || packedA.M != m || packedA.K != k))
            throw new ArgumentException($"Sgemm.RunFused: packedA is ({packedA.M}, {packedA.K}), but A is {(transA ? "transposed " : "")}({m}, {k}); pack this A (not transposed) or pass null.", nameof(packedA));
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0) { ScaleC(m, n, beta, c, ldc); if (!epilogue.IsNone) epilogue.Reference(c, ldc, m, n); return; }
        float* pa = packedA is not null && packedA.Width == width ? packedA.Data : null;
        if (packedA is not null && pa == null && packedA.Width == width) throw new ObjectDisposedException(nameof(PackedGemmA));
        var g = new GemmArgs(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, pa);
        switch (width)
        {
            // Why 8x32 on AVX-512: measured in the kernel lab (`bench lab gemm`) against 6x32, 12x32 and 14x32 it is
            // as fast at 1024^3 (16 accumulators already hide FMA latency on Zen 4 / Skylake-X) and faster on the
            // DeepSpeech shapes, whose m (1, 64, 512, ...) is a multiple of 8 so no edge rows are wasted.
            case SimdWidth.V512: Execute<V512Ops, Vector512<float>, Rows8>(g, threads, GemmBlocking.Default); break;
            // 16 ymm/xmm registers: 6 rows x 2 vectors = 12 accumulators + 2 B + 1 broadcast.
            case SimdWidth.V256: Execute<V256Ops, Vector256<float>, Rows6>(g, threads, GemmBlocking.Default); break;
            // V128 is also the ARM64 NEON path; 6x8 keeps to 16 registers so x86 SSE does not spill.
            case SimdWidth.V128: Execute<V128Ops, Vector128<float>, Rows6>(g, threads, GemmBlocking.Default); break;
            default: Execute<ScalarOps, float, Rows4>(g, threads, GemmBlocking.Default); break;
        }
    }

    /// <summary>Strided batched GEMM: for each i &lt; batch, matrices start at a + i*strideA, b + i*strideB, c + i*strideC.</summary>
    public static void RunBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, long strideA, float* b, int ldb, long strideB, float beta, float* c, int ldc, long strideC, int batch)
        => RunBatched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch,
            Simd.Best, KernelThreads.Count);

    /// <summary>
    /// Strided batched GEMM on the given code path and at most <paramref name="threads"/> threads. Small matrices
    /// are spread over threads by batch index (one thread per matrix), large ones use all threads each; either way
    /// each matrix's result is the same as a single-threaded <see cref="Run(bool,bool,int,int,int,float,float*,int,float*,int,float,float*,int,SimdWidth,int)"/>.
    /// </summary>
    public static void RunBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, long strideA, float* b, int ldb, long strideB, float beta, float* c, int ldc, long strideC, int batch,
        SimdWidth width, int threads)
    {
        if (batch < 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, "Batch count must be >= 0.");
        if (batch == 0) return;
        Validate(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, width, threads);
        double flops = 2.0 * m * n * k;
        // Why: a batch of small GEMMs cannot feed several threads each, but the batch itself can. Only when
        // C matrices are distinct (strideC != 0), or two threads would race on the same C.
        if (batch > 1 && threads > 1 && strideC != 0 && flops * threads < MinFlopsPerThread * 16)
        {
            int parts = (int)Math.Clamp(flops * batch / MinFlopsPerThread, 1, Math.Min(threads, batch));
            KernelThreads.For(batch, 1, parts, (s, e) =>
            {
                for (int i = s; i < e; i++)
                    Run(transA, transB, m, n, k, alpha, a + i * strideA, lda, b + i * strideB, ldb, beta, c + i * strideC, ldc, width, 1);
            });
            return;
        }
        for (int i = 0; i < batch; i++)
            Run(transA, transB, m, n, k, alpha, a + i * strideA, lda, b + i * strideB, ldb, beta, c + i * strideC, ldc, width, threads);
    }

    /// <summary>One kernel variant with explicit blocking: the production dispatch above, and the kernel lab in bench/.</summary>
    internal static void Execute<TOps, TV, TRows>(GemmArgs g, int threads, GemmBlocking blk)
        where TOps : struct, IVec<TV> where TV : struct where TRows : struct, IRows
    {
        int maxParts = (int)Math.Clamp(2.0 * g.M * g.N * g.K / MinFlopsPerThread, 1, threads);
        // The GEMV and narrow paths write C in their own order: their epilogue is one pass after (small C only).
        if (g.M == 1 || g.N == 1) { ExecuteGemv<TOps, TV>(g, maxParts); EpilogueAfter<TOps, TV>(g); return; }
        // Fewer columns than one micro-panel, A row-major: dot products straight from A (GemmNarrow's header).
        if (g.N < GemmDriver<TOps, TV, TRows>.Nr && !g.TransA) { GemmNarrow<TOps, TV>.Run(g, maxParts); EpilogueAfter<TOps, TV>(g); return; }

        GemmDriver<TOps, TV, TRows>.Run(g, maxParts, blk);
    }

    /// <summary>
    /// The micro-panel width NR (two vectors) of the driver that <see cref="Execute{TOps, TV, TRows}"/> runs on
    /// <paramref name="width"/>, as Run dispatches it: narrower C goes to GemmNarrow, and PackedGemmB lays out its panels for it.
    /// </summary>
    internal static int Nr(SimdWidth width) => width switch
    {
        SimdWidth.V512 => GemmDriver<V512Ops, Vector512<float>, Rows8>.Nr,
        SimdWidth.V256 => GemmDriver<V256Ops, Vector256<float>, Rows6>.Nr,
        SimdWidth.V128 => GemmDriver<V128Ops, Vector128<float>, Rows6>.Nr,
        _ => GemmDriver<ScalarOps, float, Rows4>.Nr,
    };

    static void EpilogueAfter<TOps, TV>(in GemmArgs g) where TOps : struct, IVec<TV> where TV : struct
    {
        if (!g.Epilogue.IsNone) g.Epilogue.Apply<TOps, TV>(g.C, g.Ldc, 0, 0, g.M, g.N);
    }

    static void ExecuteGemv<TOps, TV>(GemmArgs g, int maxParts) where TOps : struct, IVec<TV> where TV : struct
    {
        // m == 1: y = C row, x = op(A) row, matrix op(B) (k, n).  n == 1: y = C column, x = op(B) column,
        // matrix op(A)^T (k, m). Strides: rs along k, cs along the output.
        int outLen; float* x, mat, y; nint incx, rs, cs, incy;
        if (g.M == 1)
        {
            outLen = g.N; x = g.A; incx = g.TransA ? g.Lda : 1; mat = g.B;
            rs = g.TransB ? 1 : g.Ldb; cs = g.TransB ? g.Ldb : 1; y = g.C; incy = 1;
        }
        else
        {
            outLen = g.M; x = g.B; incx = g.TransB ? 1 : g.Ldb; mat = g.A;
            rs = g.TransA ? g.Lda : 1; cs = g.TransA ? 1 : g.Lda; y = g.C; incy = g.Ldc;
        }
        const int unit = 64; // outputs per split unit: whole cache lines of C, whole vectors
        int units = (outLen + unit - 1) / unit;
        int parts = Math.Min(maxParts, units);
        int k = g.K; float alpha = g.Alpha, beta = g.Beta;
        if (parts <= 1) { Gemv<TOps, TV>.Run(0, outLen, k, alpha, x, incx, mat, rs, cs, beta, y, incy); return; }
        KernelThreads.For(units, 1, parts, (s, e) =>
            Gemv<TOps, TV>.Run(s * unit, Math.Min(e * unit, outLen), k, alpha, x, incx, mat, rs, cs, beta, y, incy));
    }

    static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        if (beta == 1) return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (nint)i * ldc, n);
            if (beta == 0) row.Clear();
            else for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    static void Validate(bool transA, bool transB, int m, int n, int k, float* a, int lda, float* b, int ldb,
        float* c, int ldc, SimdWidth width, int threads)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentOutOfRangeException(nameof(m), $"Expected m, n, k >= 0, got m={m}, n={n}, k={k}.");
        if (lda < Math.Max(1, transA ? m : k))
            throw new ArgumentOutOfRangeException(nameof(lda), lda, $"Expected lda >= {Math.Max(1, transA ? m : k)} ({(transA ? "A^T stored (k,m)" : "A stored (m,k)")}).");
        if (ldb < Math.Max(1, transB ? k : n))
            throw new ArgumentOutOfRangeException(nameof(ldb), ldb, $"Expected ldb >= {Math.Max(1, transB ? k : n)} ({(transB ? "B^T stored (n,k)" : "B stored (k,n)")}).");
        if (ldc < Math.Max(1, n))
            throw new ArgumentOutOfRangeException(nameof(ldc), ldc, $"Expected ldc >= {Math.Max(1, n)}.");
        if (m > 0 && n > 0 && c == null) throw new ArgumentNullException(nameof(c), "C is null but m, n > 0.");
        if (m > 0 && n > 0 && k > 0 && (a == null || b == null))
            throw new ArgumentNullException(a == null ? nameof(a) : nameof(b), "A and B must be non-null when m, n, k > 0.");
        if (!Simd.Supports(width)) throw new NotSupportedException($"SIMD path {width} is not available in this process (best: {Simd.Best}).");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Expected threads >= 1.");
    }
}
