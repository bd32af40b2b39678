// The blocked GEMM driver (the BLIS loop nest) around the register-tiled micro-kernel, plus the
// per-thread pack buffers. Generic over the vector ops and tile height, so one source serves
// every ISA; Sgemm picks the instantiation.
//   for jc in N step NC:            B block (KC, NC) packed once, lives in L3/L2
//     for pc in K step KC:          beta applies on the first K block only
//       pack B(pc:pc+kc, jc:jc+nc)
//       for ic in M step MC:        A block (MC, KC) packed, lives in L2
//         pack A(ic:ic+mc, pc:pc+kc)
//         for jr in nc step NR:     B micro-panel (KC, NR) reused across the ir loop, stays in L1
//           for ir in mc step MR:   micro-kernel on one (MR, NR) tile of C
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Cochlea.Kernels.Gemm;

/// <summary>One GEMM call's operands: C(m,n) = alpha * op(A)(m,k) * op(B)(k,n) + beta * C, row-major.</summary>
internal readonly unsafe struct GemmArgs
{
    public readonly bool TransA, TransB;
    public readonly int M, N, K;
    public readonly float Alpha, Beta;
    public readonly float* A, B, C;
    public readonly int Lda, Ldb, Ldc;

    public GemmArgs(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, float beta, float* c, int ldc)
    {
        TransA = transA; TransB = transB; M = m; N = n; K = k; Alpha = alpha; Beta = beta;
        A = a; B = b; C = c; Lda = lda; Ldb = ldb; Ldc = ldc;
    }

    /// <summary>Address of op(A)[i, p], and the strides of op(A) along i and along p.</summary>
    public float* AAt(int i, int p) => TransA ? A + (nint)p * Lda + i : A + (nint)i * Lda + p;
    public nint AStrideI => TransA ? 1 : Lda;
    public nint AStrideP => TransA ? Lda : 1;
    /// <summary>Address of op(B)[p, j], and the strides of op(B) along j and along p.</summary>
    public float* BAt(int p, int j) => TransB ? B + (nint)j * Ldb + p : B + (nint)p * Ldb + j;
    public nint BStrideJ => TransB ? Ldb : 1;
    public nint BStrideP => TransB ? 1 : Ldb;
}

/// <summary>Cache-block sizes (in elements). KC is the depth of one packed panel.</summary>
internal readonly record struct GemmBlocking(int Mc, int Kc, int Nc)
{
    /// <summary>
    /// Defaults, measured with `bench lab gemm` on the dev box (Zen 4: 32 KiB L1d, 1 MiB L2 per core, 32 MiB L3;
    /// KC 256..1024 x MC 96..512 swept). KC = 512 halves the C read-modify-write traffic of KC = 256 and won
    /// by ~5%; the (KC, NR) B micro-panel (64 KiB) then streams from L2 with the hardware prefetcher, the
    /// (MC, KC) A block (384 KiB) stays in L2, and a (KC, NC) B block sits in L3. Also fine for Skylake-X
    /// (1 MiB L2) and, being a multiple of every MR and NR, for the Pi's smaller tiles.
    /// </summary>
    public static readonly GemmBlocking Default = new(Mc: 192, Kc: 512, Nc: 4096);
}

/// <summary>Thread-local, 64-byte aligned, grow-only scratch buffers for packed panels (no allocation once warm).</summary>
internal static unsafe class PackBuffers
{
    [ThreadStatic] static float* t_a, t_b;
    [ThreadStatic] static nint t_capA, t_capB;

    /// <summary>At least <paramref name="floats"/> floats for packed A, reused by later calls on this thread.</summary>
    public static float* A(nint floats) => Get(ref t_a, ref t_capA, floats);
    /// <summary>At least <paramref name="floats"/> floats for packed B, reused by later calls on this thread.</summary>
    public static float* B(nint floats) => Get(ref t_b, ref t_capB, floats);

    static float* Get(ref float* p, ref nint cap, nint floats)
    {
        if (floats <= cap) return p;
        // Why 64-byte alignment: packed panels are read one cache line (= one Vector512) at a time.
        // Grow-only and never freed while the thread lives: the pool threads that run kernels are
        // long-lived and the sizes are bounded by the block sizes (a few MiB per thread).
        if (p != null) NativeMemory.AlignedFree(p);
        nint size = Math.Max(floats, cap * 2);
        p = (float*)NativeMemory.AlignedAlloc((nuint)(size * sizeof(float)), 64);
        cap = size;
        return p;
    }
}

internal static unsafe class GemmDriver<TOps, TV, TRows>
    where TOps : struct, IVecOps<TV> where TV : struct where TRows : struct, IRows
{
    public static int Mr => TRows.Count;
    public static int Nr => 2 * TOps.Lanes;

    /// <summary>
    /// Computes the C rows [i0, i1) and columns [j0, j1) of the call. i0 and j0 must be multiples of MR and
    /// NR, so the tile grid (and hence every element's arithmetic) does not depend on how work was split.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Region(in GemmArgs g, int i0, int i1, int j0, int j1, GemmBlocking blk)
    {
        int mr = Mr, nr = Nr;
        // Block sizes rounded to whole micro-tiles so blocks never split a tile.
        int mcMax = Math.Max(mr, blk.Mc / mr * mr), ncMax = Math.Max(nr, blk.Nc / nr * nr), kcMax = blk.Kc;
        int kcCap = Math.Min(kcMax, g.K);
        float* pa = PackBuffers.A((nint)RoundUp(Math.Min(mcMax, i1 - i0), mr) * kcCap);
        float* pb = PackBuffers.B((nint)RoundUp(Math.Min(ncMax, j1 - j0), nr) * kcCap);
        float* edge = stackalloc float[mr * nr];

        for (int jc = j0; jc < j1; jc += ncMax)
        {
            int nc = Math.Min(ncMax, j1 - jc);
            for (int pc = 0; pc < g.K; pc += kcMax)
            {
                int kc = Math.Min(kcMax, g.K - pc);
                float beta = pc == 0 ? g.Beta : 1f;
                GemmPack.Block(pb, g.BAt(pc, jc), nc, kc, g.BStrideJ, g.BStrideP, nr);
                for (int ic = i0; ic < i1; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, i1 - ic);
                    GemmPack.Block(pa, g.AAt(ic, pc), mc, kc, g.AStrideI, g.AStrideP, mr);
                    Macro(g, pa, pb, ic, jc, mc, nc, kc, beta, edge);
                }
            }
        }
    }

    /// <summary>All (MR, NR) tiles of one (mc, nc) block of C from packed A (mc, kc) and packed B (kc, nc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Macro(in GemmArgs g, float* pa, float* pb, int ic, int jc, int mc, int nc, int kc, float beta, float* edge)
    {
        int mr = Mr, nr = Nr;
        nint ldc = g.Ldc;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int nEff = Math.Min(nr, nc - jr);
            float* pbj = pb + (nint)jr * kc;
            for (int ir = 0; ir < mc; ir += mr)
            {
                int mEff = Math.Min(mr, mc - ir);
                float* pai = pa + (nint)ir * kc;
                float* c = g.C + (nint)(ic + ir) * ldc + jc + jr;
                if (mEff == mr && nEff == nr)
                {
                    GemmMicroKernel.Tile<TOps, TV, TRows>(kc, pai, pbj, c, ldc, g.Alpha, beta);
                }
                else
                {
                    // Edge tile: full tile into scratch (packing zero-padded the missing rows/columns),
                    // then only the valid part is merged, so nothing outside C is read or written.
                    GemmMicroKernel.Tile<TOps, TV, TRows>(kc, pai, pbj, edge, nr, 1f, 0f);
                    for (int i = 0; i < mEff; i++)
                    {
                        float* ci = c + (nint)i * ldc;
                        float* ei = edge + i * nr;
                        if (beta == 0) for (int j = 0; j < nEff; j++) ci[j] = g.Alpha * ei[j];
                        else for (int j = 0; j < nEff; j++) ci[j] = g.Alpha * ei[j] + beta * ci[j];
                    }
                }
            }
        }
    }

    static int RoundUp(int x, int q) => (x + q - 1) / q * q;
}
