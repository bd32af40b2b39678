// The register-tiled GEMM micro-kernel: an (MR x 2*Lanes) tile of C kept in registers while a
// packed A micro-panel and a packed B micro-panel stream through it, one rank-1 update per k.
// One generic source serves every ISA: TOps picks the vector width, TRows the tile height.
//   pa: packed A micro-panel (kc, MR)   pa[p*MR + r]   = op(A)[i0 + r, p0 + p]
//   pb: packed B micro-panel (kc, NR)   pb[p*NR + j]   = op(B)[p0 + p, j0 + j]     NR = 2*Lanes
//   c : C tile (MR, NR) with row stride ldc;  c = alpha * (pa^T pb) + beta * c   (beta == 0: c not read)
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Gemm;

/// <summary>Tile height of the micro-kernel, as a type so the JIT folds it to a constant.</summary>
internal interface IRows { static abstract int Count { get; } }
// Rows1/Rows2: row counts below a micro-kernel tile (GemmThinKernel's rows, GemmNarrow's columns, ImplicitConv's weight tiles).
internal readonly struct Rows1 : IRows { public static int Count => 1; }
internal readonly struct Rows2 : IRows { public static int Count => 2; }
internal readonly struct Rows4 : IRows { public static int Count => 4; }
internal readonly struct Rows6 : IRows { public static int Count => 6; }
internal readonly struct Rows8 : IRows { public static int Count => 8; }
internal readonly struct Rows12 : IRows { public static int Count => 12; }
internal readonly struct Rows14 : IRows { public static int Count => 14; }

internal static unsafe class GemmMicroKernel
{

    /// <summary>
    /// C tile (MR, 2*Lanes) = alpha * sum_p pa[p,:]^T pb[p,:] + beta * C. The k loop runs p = 0..kc-1 in
    /// order with one fused multiply-add per element and step, so each C element's rounding is fixed
    /// by (kc, data) alone: the same whichever thread or tile position computes it.
    /// </summary>
    // Why this shape: MR rows x 2 vectors gives 2*MR independent accumulator chains (enough to hide
    // FMA latency), needs only 2 vector loads of B per k step, and each A value is broadcast once and
    // used twice. MR can go up to 14 (28 accumulators + 2 B + 1 A of the 32 AVX-512/NEON registers);
    // with 16 registers (AVX2, SSE) MR = 6 keeps 12 + 3. Rows beyond 4 sit behind `if (MR > r)`, which
    // the JIT removes per TRows, so the unused accumulators cost nothing. Sgemm says which MR each ISA uses.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    // bStride: floats from one k step of B to the next; 0 means a packed micro-panel (2*Lanes). The driver passes B's
    // row stride to read a row-major B in place (GemmDriver's direct B).
    public static void Tile<TOps, TV, TRows>(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta, nint bStride = 0)
        where TOps : struct, IVec<TV> where TV : struct where TRows : struct, IRows
    {
        int mr = TRows.Count;
        int w = TOps.Count;
        if (bStride == 0) bStride = 2 * w;
        if (Sse.IsSupported)
        {
            // Why: C rows are usually far away (L3 or memory) by the time this tile is revisited; asking for
            // them now lets the misses overlap the kc-long FMA loop instead of stalling the final stores
            // (+3..8% at 1024^3 in the lab).
            float* cp = c;
            for (int r = 0; r < mr; r++, cp += ldc) { Sse.Prefetch0(cp); Sse.Prefetch0(cp + 2 * w - 1); }
        }
        TV c0a = TOps.Splat(0f), c0b = TOps.Splat(0f), c1a = TOps.Splat(0f), c1b = TOps.Splat(0f);
        TV c2a = TOps.Splat(0f), c2b = TOps.Splat(0f), c3a = TOps.Splat(0f), c3b = TOps.Splat(0f);
        TV c4a = TOps.Splat(0f), c4b = TOps.Splat(0f), c5a = TOps.Splat(0f), c5b = TOps.Splat(0f);
        TV c6a = TOps.Splat(0f), c6b = TOps.Splat(0f), c7a = TOps.Splat(0f), c7b = TOps.Splat(0f);
        TV c8a = TOps.Splat(0f), c8b = TOps.Splat(0f), c9a = TOps.Splat(0f), c9b = TOps.Splat(0f);
        TV c10a = TOps.Splat(0f), c10b = TOps.Splat(0f), c11a = TOps.Splat(0f), c11b = TOps.Splat(0f);
        TV c12a = TOps.Splat(0f), c12b = TOps.Splat(0f), c13a = TOps.Splat(0f), c13b = TOps.Splat(0f);

        for (int p = 0; p < kc; p++)
        {
            TV b0 = TOps.Load(pb), b1 = TOps.Load(pb + w);
            TV a;
            a = TOps.Splat(pa[0]); c0a = TOps.MulAdd(a, b0, c0a); c0b = TOps.MulAdd(a, b1, c0b);
            a = TOps.Splat(pa[1]); c1a = TOps.MulAdd(a, b0, c1a); c1b = TOps.MulAdd(a, b1, c1b);
            a = TOps.Splat(pa[2]); c2a = TOps.MulAdd(a, b0, c2a); c2b = TOps.MulAdd(a, b1, c2b);
            a = TOps.Splat(pa[3]); c3a = TOps.MulAdd(a, b0, c3a); c3b = TOps.MulAdd(a, b1, c3b);
            if (mr > 4)
            {
                a = TOps.Splat(pa[4]); c4a = TOps.MulAdd(a, b0, c4a); c4b = TOps.MulAdd(a, b1, c4b);
                a = TOps.Splat(pa[5]); c5a = TOps.MulAdd(a, b0, c5a); c5b = TOps.MulAdd(a, b1, c5b);
            }
            if (mr > 6)
            {
                a = TOps.Splat(pa[6]); c6a = TOps.MulAdd(a, b0, c6a); c6b = TOps.MulAdd(a, b1, c6b);
                a = TOps.Splat(pa[7]); c7a = TOps.MulAdd(a, b0, c7a); c7b = TOps.MulAdd(a, b1, c7b);
            }
            if (mr > 8)
            {
                a = TOps.Splat(pa[8]); c8a = TOps.MulAdd(a, b0, c8a); c8b = TOps.MulAdd(a, b1, c8b);
                a = TOps.Splat(pa[9]); c9a = TOps.MulAdd(a, b0, c9a); c9b = TOps.MulAdd(a, b1, c9b);
                a = TOps.Splat(pa[10]); c10a = TOps.MulAdd(a, b0, c10a); c10b = TOps.MulAdd(a, b1, c10b);
                a = TOps.Splat(pa[11]); c11a = TOps.MulAdd(a, b0, c11a); c11b = TOps.MulAdd(a, b1, c11b);
            }
            if (mr > 12)
            {
                a = TOps.Splat(pa[12]); c12a = TOps.MulAdd(a, b0, c12a); c12b = TOps.MulAdd(a, b1, c12b);
                a = TOps.Splat(pa[13]); c13a = TOps.MulAdd(a, b0, c13a); c13b = TOps.MulAdd(a, b1, c13b);
            }
            pa += mr;
            pb += bStride;
        }

        TV va = TOps.Splat(alpha), vb = TOps.Splat(beta);
        bool load = beta != 0;
        StoreRow<TOps, TV>(c, c0a, c0b, va, vb, load); c += ldc;
        StoreRow<TOps, TV>(c, c1a, c1b, va, vb, load); c += ldc;
        StoreRow<TOps, TV>(c, c2a, c2b, va, vb, load); c += ldc;
        StoreRow<TOps, TV>(c, c3a, c3b, va, vb, load); c += ldc;
        if (mr > 4)
        {
            StoreRow<TOps, TV>(c, c4a, c4b, va, vb, load); c += ldc;
            StoreRow<TOps, TV>(c, c5a, c5b, va, vb, load); c += ldc;
        }
        if (mr > 6)
        {
            StoreRow<TOps, TV>(c, c6a, c6b, va, vb, load); c += ldc;
            StoreRow<TOps, TV>(c, c7a, c7b, va, vb, load); c += ldc;
        }
        if (mr > 8)
        {
            StoreRow<TOps, TV>(c, c8a, c8b, va, vb, load); c += ldc;
            StoreRow<TOps, TV>(c, c9a, c9b, va, vb, load); c += ldc;
            StoreRow<TOps, TV>(c, c10a, c10b, va, vb, load); c += ldc;
            StoreRow<TOps, TV>(c, c11a, c11b, va, vb, load); c += ldc;
        }
        if (mr > 12)
        {
            StoreRow<TOps, TV>(c, c12a, c12b, va, vb, load); c += ldc;
            StoreRow<TOps, TV>(c, c13a, c13b, va, vb, load);
        }
    }

    /// <summary>c[0..2w) = alpha*acc + beta*c, or alpha*acc when beta == 0 (old c never read, so NaN there is ignored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow<TOps, TV>(float* c, TV x0, TV x1, TV va, TV vb, bool load)
        where TOps : struct, IVec<TV> where TV : struct
    {
        int w = TOps.Count;
        if (load)
        {
            TOps.Store(c, TOps.MulAdd(va, x0, TOps.Mul(vb, TOps.Load(c))));
            TOps.Store(c + w, TOps.MulAdd(va, x1, TOps.Mul(vb, TOps.Load(c + w))));
        }
        else
        {
            TOps.Store(c, TOps.Mul(va, x0));
            TOps.Store(c + w, TOps.Mul(va, x1));
        }
    }
}
