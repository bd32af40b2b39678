// The thin-row GEMM kernel for a B packed once (PackedGemmB): C (m, nc) for m = 1 or 2 rows of A, as in a
// batch-1 RNN step h (1, H) x W_hh. The (MR x NR) micro-kernel pads A to MR rows, so at m = 1 it spends
// 7/8 of its FMAs (AVX-512) on zeros and is compute-bound where the step should be bound by reading B.
//   a : op(A) rows, unpacked, row stride lda; a[r*lda + p] for p < kc
//   pb: one packed KC slab of B (kc, nc rounded up to NR): panel q (kc, NR) at pb + q*kc*NR, pb[.. + p*NR + j]
//   c : C rows, row stride ldc, columns [0, nc)
// Each C element is the same FMA chain over p = 0..kc-1 from zero as GemmMicroKernel.Tile computes, then merged
// as GemmDriver.Macro merges the edge tiles that m < MR always gives (alpha*acc, or alpha*acc + beta*c with
// two roundings): bit-identical to the MR-row path. Four panels at a time keep 8 (16) accumulator chains.
// Only the slab rows listed in ps (ascending) are visited: the caller leaves out rows p where A is zero in every
// row and B is finite, whose FMAs add exactly +0 to chains that start at +0 (and so can never hold -0): the same
// bits, and a batch-1 ReLU RNN step (h about half zeros) reads about half of W_hh.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Gemm;

internal static unsafe class GemmThinKernel
{
    /// <summary>
    /// C[0..m, 0..nc) = alpha * A (m, kc) * slab (kc, nc) + beta * C, m = TRows.Count (1 or 2), summing over the <paramref name="count"/>
    /// slab rows <paramref name="ps"/> (ascending; all of 0..kc-1 but rows that add nothing); see the file header.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Slab<TOps, TV, TRows>(int kc, int* ps, int count, float* a, nint lda, float* pb, int nc, float* c, nint ldc, float alpha, float beta)
        where TOps : struct, IVec<TV> where TV : struct where TRows : struct, IRows
    {
        bool two = TRows.Count > 1;
        int w = TOps.Count, nr = 2 * w;
        nint panel = (nint)kc * nr;
        TV va = TOps.Splat(alpha), vb = TOps.Splat(beta);
        bool load = beta != 0;
        int full = nc / nr, q = 0;
        for (; q + 4 <= full; q += 4)
        {
            float* bq = pb + q * panel;
            TV x0 = TOps.Splat(0f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0;
            TV y0 = x0, y1 = x0, y2 = x0, y3 = x0, y4 = x0, y5 = x0, y6 = x0, y7 = x0;
            for (int i = 0; i < count; i++)
            {
                int p = ps[i];
                float* b = bq + p * nr;
                TV b0 = TOps.Load(b), b1 = TOps.Load(b + w);
                TV b2 = TOps.Load(b + panel), b3 = TOps.Load(b + panel + w);
                TV b4 = TOps.Load(b + 2 * panel), b5 = TOps.Load(b + 2 * panel + w);
                TV b6 = TOps.Load(b + 3 * panel), b7 = TOps.Load(b + 3 * panel + w);
                TV a0 = TOps.Splat(a[p]);
                x0 = TOps.MulAdd(a0, b0, x0); x1 = TOps.MulAdd(a0, b1, x1); x2 = TOps.MulAdd(a0, b2, x2); x3 = TOps.MulAdd(a0, b3, x3);
                x4 = TOps.MulAdd(a0, b4, x4); x5 = TOps.MulAdd(a0, b5, x5); x6 = TOps.MulAdd(a0, b6, x6); x7 = TOps.MulAdd(a0, b7, x7);
                if (two)
                {
                    TV a1 = TOps.Splat(a[lda + p]);
                    y0 = TOps.MulAdd(a1, b0, y0); y1 = TOps.MulAdd(a1, b1, y1); y2 = TOps.MulAdd(a1, b2, y2); y3 = TOps.MulAdd(a1, b3, y3);
                    y4 = TOps.MulAdd(a1, b4, y4); y5 = TOps.MulAdd(a1, b5, y5); y6 = TOps.MulAdd(a1, b6, y6); y7 = TOps.MulAdd(a1, b7, y7);
                }
            }
            float* cq = c + q * nr;
            Merge<TOps, TV>(cq, x0, va, vb, load); Merge<TOps, TV>(cq + w, x1, va, vb, load);
            Merge<TOps, TV>(cq + nr, x2, va, vb, load); Merge<TOps, TV>(cq + nr + w, x3, va, vb, load);
            Merge<TOps, TV>(cq + 2 * nr, x4, va, vb, load); Merge<TOps, TV>(cq + 2 * nr + w, x5, va, vb, load);
            Merge<TOps, TV>(cq + 3 * nr, x6, va, vb, load); Merge<TOps, TV>(cq + 3 * nr + w, x7, va, vb, load);
            if (two)
            {
                cq += ldc;
                Merge<TOps, TV>(cq, y0, va, vb, load); Merge<TOps, TV>(cq + w, y1, va, vb, load);
                Merge<TOps, TV>(cq + nr, y2, va, vb, load); Merge<TOps, TV>(cq + nr + w, y3, va, vb, load);
                Merge<TOps, TV>(cq + 2 * nr, y4, va, vb, load); Merge<TOps, TV>(cq + 2 * nr + w, y5, va, vb, load);
                Merge<TOps, TV>(cq + 3 * nr, y6, va, vb, load); Merge<TOps, TV>(cq + 3 * nr + w, y7, va, vb, load);
            }
        }
        // The remaining panels one at a time; the last, partial one (zero-padded when packed) through scratch.
        float* edge = stackalloc float[2 * nr];
        for (; q * nr < nc; q++)
        {
            float* bq = pb + q * panel;
            TV x0 = TOps.Splat(0f), x1 = x0, y0 = x0, y1 = x0;
            for (int i = 0; i < count; i++)
            {
                int p = ps[i];
                float* b = bq + p * nr;
                TV b0 = TOps.Load(b), b1 = TOps.Load(b + w);
                TV a0 = TOps.Splat(a[p]);
                x0 = TOps.MulAdd(a0, b0, x0); x1 = TOps.MulAdd(a0, b1, x1);
                if (two)
                {
                    TV a1 = TOps.Splat(a[lda + p]);
                    y0 = TOps.MulAdd(a1, b0, y0); y1 = TOps.MulAdd(a1, b1, y1);
                }
            }
            int nEff = Math.Min(nr, nc - q * nr);
            float* cq = c + q * nr;
            if (nEff == nr)
            {
                Merge<TOps, TV>(cq, x0, va, vb, load); Merge<TOps, TV>(cq + w, x1, va, vb, load);
                if (two) { Merge<TOps, TV>(cq + ldc, y0, va, vb, load); Merge<TOps, TV>(cq + ldc + w, y1, va, vb, load); }
                continue;
            }
            TOps.Store(edge, x0); TOps.Store(edge + w, x1); TOps.Store(edge + nr, y0); TOps.Store(edge + nr + w, y1);
            for (int r = 0; r < TRows.Count; r++)
            {
                float* ci = cq + r * ldc, ei = edge + r * nr;
                if (beta == 0) for (int j = 0; j < nEff; j++) ci[j] = alpha * ei[j];
                else for (int j = 0; j < nEff; j++) ci[j] = alpha * ei[j] + beta * ci[j];
            }
        }
    }

    /// <summary>
    /// Writes to <paramref name="ps"/> the slab rows p &lt; kc the kernel must visit and returns their count: all of them, or, with
    /// <paramref name="skipZeroRows"/> (only when B is finite), those where some row of A (m rows, stride lda) is non-zero.
    /// </summary>
    public static int Rows(int kc, float* a, nint lda, int m, bool skipZeroRows, int* ps)
    {
        if (!skipZeroRows) { for (int p = 0; p < kc; p++) ps[p] = p; return kc; }
        // Branch-free compaction, four at a time: ReLU zeros fall at random, so a branch per p would mispredict about half
        // the time. Two rows: their bits OR-ed are a zero (+0 or -0) only where both are.
        int count = 0, q = 0;
        for (; q + 4 <= kc; q += 4)
        {
            var v = Vector128.Load(a + q);
            if (m > 1) v = Vector128.BitwiseOr(v, Vector128.Load(a + lda + q));
            uint nz = ~Vector128.ExtractMostSignificantBits(Vector128.Equals(v, Vector128<float>.Zero));
            ps[count] = q; count += (int)(nz & 1);
            ps[count] = q + 1; count += (int)((nz >> 1) & 1);
            ps[count] = q + 2; count += (int)((nz >> 2) & 1);
            ps[count] = q + 3; count += (int)((nz >> 3) & 1);
        }
        for (; q < kc; q++)
        {
            ps[count] = q;
            count += (a[q] != 0f) | (m > 1 && a[lda + q] != 0f) ? 1 : 0;
        }
        return count;
    }

    /// <summary>c[0..w) = alpha*acc (+ beta*c, each product rounded, as the driver's scalar edge merge).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Merge<TOps, TV>(float* c, TV acc, TV va, TV vb, bool load) where TOps : struct, IVec<TV> where TV : struct
    {
        TV ax = TOps.Mul(va, acc);
        TOps.Store(c, load ? TOps.Add(ax, TOps.Mul(vb, TOps.Load(c))) : ax);
    }
}
