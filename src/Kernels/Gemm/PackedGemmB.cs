// A GEMM operand B packed ONCE into the micro-kernel's panel order, for products that reuse the same B
// many times against a few rows of A: the per-step recurrent GEMMs of RNNs, h (B, H) x W_hh^T (H, G*H),
// 200 or more times per sequence. The plain driver repacks B on every call, which for such GEMV-like
// shapes doubles the memory traffic (B is read, written packed, and read again, for only B rows of
// work); packed once, each call streams the panels straight through the micro-kernel.
//   layout: KC slabs of K in order; slab s (k0 = s*KC, kc rows) at data + k0*NPad holds the NPad/NR panels
//   of op(B)[k0:k0+kc, :] one after another, each (kc, NR) as GemmPack.Block writes it (zero-padded columns).
// Results are bit-identical to Sgemm.Run on the same path: same KC grid, same micro-kernel, same k order.
// For one or two rows of A the thin kernel skips k where A is zero when B is all finite (checked at packing):
// the same bits (GemmThinKernel's header), about half the reads of a batch-1 ReLU RNN's W_hh.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Elementwise;
using Cochlea.Kernels.Numerics;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Gemm;

/// <summary>op(B) (k, n) packed for repeated <c>C = alpha * A * op(B) + beta * C</c> with A (m, k) row-major (see the file header).</summary>
public sealed unsafe class PackedGemmB : IDisposable
{
    float* _data;
    readonly int _nr, _kc, _nPad;
    // No Inf or NaN in B: 0 * B adds exactly nothing, so zero entries of A may be skipped.
    readonly bool _finite;

    /// <summary>Rows of op(B) (the inner dimension).</summary>
    public int K { get; }
    /// <summary>Columns of op(B) and of C.</summary>
    public int N { get; }
    /// <summary>The code path the panels are laid out for (and <see cref="Run(int, float, float*, int, float, float*, int, int)"/> uses).</summary>
    public SimdWidth Width { get; }

    /// <summary>
    /// Packs op(B): B stored (k, n) with row stride <paramref name="ldb"/>, or, with <paramref name="transB"/>, stored (n, k)
    /// (op(B) = B^T, as PyTorch's (out, in) weights). <paramref name="width"/> defaults to <see cref="Simd.Best"/>.
    /// </summary>
    public PackedGemmB(bool transB, int k, int n, float* b, int ldb, SimdWidth? width = null)
    {
        if (k < 0 || n < 0) throw new ArgumentOutOfRangeException(nameof(k), $"PackedGemmB: expected k, n >= 0, got k={k}, n={n}.");
        if (ldb < Math.Max(1, transB ? k : n)) throw new ArgumentOutOfRangeException(nameof(ldb), ldb, $"PackedGemmB: expected ldb >= {Math.Max(1, transB ? k : n)}.");
        if (k > 0 && n > 0 && b == null) throw new ArgumentNullException(nameof(b), "PackedGemmB: B is null but k, n > 0.");
        Width = width ?? Simd.Best;
        if (!Simd.Supports(Width)) throw new NotSupportedException($"PackedGemmB: SIMD path {Width} is not available in this process (best: {Simd.Best}).");
        (K, N) = (k, n);
        _nr = Sgemm.Nr(Width);
        _kc = GemmBlocking.Default.Kc;
        _nPad = (n + _nr - 1) / _nr * _nr;
        _data = (float*)NativeMemory.AlignedAlloc((nuint)Math.Max(1L, (long)_nPad * k) * sizeof(float), 64);
        nint strideJ = transB ? ldb : 1, strideP = transB ? 1 : ldb;
        for (int k0 = 0; k0 < k; k0 += _kc)
            GemmPack.Block(_data + (nint)k0 * _nPad, transB ? b + k0 : b + (nint)k0 * ldb, n, Math.Min(_kc, k - k0), strideJ, strideP, _nr);
        _finite = AllFinite(_data, (long)_nPad * k);
    }

    static bool AllFinite(float* p, long n)
    {
        var exponent = new System.Numerics.Vector<uint>(0x7F800000u);
        int w = System.Numerics.Vector<uint>.Count;
        long i = 0;
        for (; i + w <= n; i += w)
            if (System.Numerics.Vector.EqualsAny(System.Numerics.Vector.Load((uint*)p + i) & exponent, exponent)) return false;
        for (; i < n; i++) if (!float.IsFinite(p[i])) return false;
        return true;
    }

    /// <summary>
    /// C (m, n) = alpha * A (m, k) * op(B) + beta * C (beta == 0 ignores C's old contents), A row-major with row stride
    /// <paramref name="lda"/>, on at most <paramref name="threads"/> threads (columns are split; results do not depend on it).
    /// </summary>
    public void Run(int m, float alpha, float* a, int lda, float beta, float* c, int ldc, int threads)
        => Run(m, alpha, a, lda, beta, c, ldc, threads, default);

    /// <summary>
    /// C (m, n) = clamp(bias + alpha * A (m, k) * op(B), <paramref name="lo"/>, <paramref name="hi"/>): a dense layer with its bias and
    /// activation fused (lo = 0, hi = +inf: ReLU; hi = c: ReLU clipped at c). <paramref name="bias"/> (n) is added to every row
    /// (null: none); C's old contents are not read. Each thread fills and clamps its own columns while they are in cache: the
    /// same bits as filling C's rows with the bias, <see cref="Run(int, float, float*, int, float, float*, int, int)"/> with
    /// beta = 1, then clamping.
    /// </summary>
    public void Run(int m, float alpha, float* a, int lda, float* c, int ldc, int threads, float* bias, float lo, float hi)
    {
        if (!(lo <= hi)) throw new ArgumentOutOfRangeException(nameof(lo), $"PackedGemmB.Run: expected lo <= hi, got [{lo}, {hi}].");
        Run(m, alpha, a, lda, 0f, c, ldc, threads, new Epilogue(bias, lo, hi));
    }

    void Run(int m, float alpha, float* a, int lda, float beta, float* c, int ldc, int threads, Epilogue epi)
    {
        ObjectDisposedException.ThrowIf(_data == null, this);
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, "PackedGemmB.Run: expected m >= 0.");
        if (lda < Math.Max(1, K)) throw new ArgumentOutOfRangeException(nameof(lda), lda, $"PackedGemmB.Run: expected lda >= {Math.Max(1, K)}.");
        if (ldc < Math.Max(1, N)) throw new ArgumentOutOfRangeException(nameof(ldc), ldc, $"PackedGemmB.Run: expected ldc >= {Math.Max(1, N)}.");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "PackedGemmB.Run: expected threads >= 1.");
        if (m == 0 || N == 0) return;
        if (m > 0 && N > 0 && (c == null || (K > 0 && a == null))) throw new ArgumentNullException(c == null ? nameof(c) : nameof(a), "PackedGemmB.Run: null operand.");
        var g = new GemmArgs(false, false, m, N, K, alpha, a, lda, null, 0, beta, c, ldc);
        switch (Width)
        {
            case SimdWidth.V512: Execute<V512Ops, Vector512<float>, Rows8>(g, threads, epi); break;
            case SimdWidth.V256: Execute<V256Ops, Vector256<float>, Rows6>(g, threads, epi); break;
            case SimdWidth.V128: Execute<V128Ops, Vector128<float>, Rows6>(g, threads, epi); break;
            default: Execute<ScalarOps, float, Rows4>(g, threads, epi); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Execute<TOps, TV, TRows>(GemmArgs g, int threads, Epilogue epi) where TOps : struct, IVec<TV> where TV : struct where TRows : struct, IRows
    {
        if (g.K == 0 || g.Alpha == 0)
        {
            if (epi.Bias != null) epi.Begin(g, 0, g.N);
            else
                for (int i = 0; i < g.M; i++)
                {
                    var row = new Span<float>(g.C + (nint)i * g.Ldc, g.N);
                    if (g.Beta == 0) row.Clear(); else if (g.Beta != 1) for (int j = 0; j < row.Length; j++) row[j] *= g.Beta;
                }
            epi.End(g, 0, g.N);
            return;
        }
        int mr = TRows.Count, mPad = (g.M + mr - 1) / mr * mr;
        // One or two rows (a batch-1 or -2 RNN step): the thin kernel reads A unpacked and computes no padded rows.
        bool thin = g.M <= 2 && g.M < mr;
        // Otherwise A is small (a few rows): packed whole by the calling thread, slab s at pa + k0 * mPad, and shared read-only.
        float* pa = null;
        if (!thin)
        {
            pa = PackBuffers.A((nint)mPad * g.K);
            for (int k0 = 0; k0 < g.K; k0 += _kc)
                GemmPack.Block(pa + (nint)k0 * mPad, g.A + k0, g.M, Math.Min(_kc, g.K - k0), g.Lda, 1, mr);
        }
        int panels = _nPad / _nr;
        // Why at least 16 panels (512 columns on AVX-512) per part: below that the fan-out costs more than it saves.
        // Thin products are bound by reading B, not by FMAs: counted as 8 flops per element of B, so a batch-1 dense layer
        // of 2048 x 1024 (8 MB) streams half its weights on each of two cores.
        double work = thin ? 8.0 * g.N * g.K : 2.0 * g.M * g.N * g.K;
        int parts = (int)Math.Clamp(work / 4e6, 1, Math.Min(threads, Math.Max(1, panels / 16)));
        float* data = _data;
        int nr = _nr, kcMax = _kc, nPad = _nPad;
        bool skipZeros = _finite;
        if (parts == 1) { Panels<TOps, TV, TRows>(g, pa, mPad, data, nPad, nr, kcMax, skipZeros, epi, 0, panels); return; }
        KernelThreads.For(panels, 16, parts, (q0, q1) => Panels<TOps, TV, TRows>(g, pa, mPad, data, nPad, nr, kcMax, skipZeros, epi, q0, q1));
    }

    // Columns [q0*NR, min(q1*NR, N)) of C over every KC slab in ascending order (beta on the first only).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Panels<TOps, TV, TRows>(GemmArgs g, float* pa, int mPad, float* data, int nPad, int nr, int kcMax, bool skipZeros, Epilogue epi, int q0, int q1)
        where TOps : struct, IVec<TV> where TV : struct where TRows : struct, IRows
    {
        float* edge = stackalloc float[TRows.Count * nr];
        int* ps = stackalloc int[pa == null ? kcMax : 1];   // thin kernel: the slab rows to visit
        int jc = q0 * nr, nc = Math.Min(q1 * nr, g.N) - jc;
        epi.Begin(g, jc, nc);
        for (int k0 = 0; k0 < g.K; k0 += kcMax)
        {
            int kc = Math.Min(kcMax, g.K - k0);
            float* slab = data + (nint)k0 * nPad + (nint)jc * kc;
            float beta = k0 == 0 && epi.Bias == null ? g.Beta : 1f;
            if (pa == null)
            {
                int count = GemmThinKernel.Rows(kc, g.A + k0, g.Lda, g.M, skipZeros, ps);
                if (g.M == 1) GemmThinKernel.Slab<TOps, TV, Rows1>(kc, ps, count, g.A + k0, g.Lda, slab, nc, g.C + jc, g.Ldc, g.Alpha, beta);
                else GemmThinKernel.Slab<TOps, TV, Rows2>(kc, ps, count, g.A + k0, g.Lda, slab, nc, g.C + jc, g.Ldc, g.Alpha, beta);
                continue;
            }
            GemmDriver<TOps, TV, TRows>.Macro(g, pa + (nint)k0 * mPad, slab, 0, jc, g.M, nc, kc, beta, edge);
        }
        epi.End(g, jc, nc);
    }

    // A dense layer's bias and activation on columns [j0, j0 + nc) of C: the bias into every row before the k loop
    // (which then accumulates onto it), the clamp after it.
    readonly struct Epilogue(float* bias, float lo, float hi)
    {
        public readonly float* Bias = bias;
        readonly bool _clamps = lo > float.NegativeInfinity || hi < float.PositiveInfinity;

        public void Begin(in GemmArgs g, int j0, int nc)
        {
            if (Bias == null) return;
            for (int i = 0; i < g.M; i++) new Span<float>(Bias + j0, nc).CopyTo(new Span<float>(g.C + (nint)i * g.Ldc + j0, nc));
        }

        public void End(in GemmArgs g, int j0, int nc)
        {
            if (!_clamps) return;
            for (int i = 0; i < g.M; i++)
            {
                float* row = g.C + (nint)i * g.Ldc + j0;
                ElementwiseLoops.Unary(new ClampOp(lo, hi), row, row, nc);   // Ops.Relu's and ReluClip's operator: the same bits
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_data != null) { NativeMemory.AlignedFree(_data); _data = null; }
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the panels if <see cref="Dispose"/> was not called.</summary>
    ~PackedGemmB() => Dispose();
}
