// GEMM for narrow C: fewer columns than one micro-kernel panel (n < NR), A row-major. This is a convolution
// over a few positions (WaveKws' late layers at batch 1: 3..24 positions, W (Cout, Cin) as A) or a small
// classifier head. The packed path pads n up to NR (on AVX-512 a 3-column C costs as much as 32 columns) and
// packs A, W, on every call, which there costs more than the product itself; here A is read once, in place.
//   C (m, n) = alpha * A (m, k) * op(B) (k, n) + beta * C;  A row stride lda;  bt (n, k): op(B) transposed,
//   rows contiguous (B itself when stored (n, k), else gathered once into scratch).
// A block of 4 rows of A by TCols columns of C is TCols*4 dot products over k, vectorised along k: each step
// loads 4 + TCols vectors for 4*TCols FMAs, the micro-kernel's ratio, and no lane is padding. Each C element is
// one fixed-order sum (vector lanes, then across lanes, then the k tail), whatever the thread split.
using System.Runtime.CompilerServices;

using Cochlea.Kernels.Numerics;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Gemm;

internal static unsafe class GemmNarrow<TOps, TV> where TOps : struct, IVec<TV> where TV : struct
{
    /// <summary>The whole call on at most <paramref name="parts"/> threads (rows are split, in blocks of 4).</summary>
    public static void Run(in GemmArgs g, int parts)
    {
        float* bt = g.B;
        nint ldbt = g.Ldb;
        if (!g.TransB)
        {
            // op(B) = B stored (k, n): its columns are strided; gather them into rows once (k*n floats, small).
            bt = PackBuffers.B((nint)g.N * g.K);
            for (int p = 0; p < g.K; p++)
                for (int j = 0; j < g.N; j++) bt[(nint)j * g.K + p] = g.B[(nint)p * g.Ldb + j];
            ldbt = g.K;
        }
        int quads = (g.M + 3) / 4;
        parts = Math.Min(parts, quads);
        var args = g;
        if (parts <= 1) { Rows(args, bt, ldbt, 0, g.M); return; }
        KernelThreads.For(quads, 1, parts, (q0, q1) => Rows(args, bt, ldbt, 4 * q0, Math.Min(4 * q1, args.M)));
    }

    static void Rows(in GemmArgs g, float* bt, nint ldbt, int i0, int i1)
    {
        // Why 4 columns at a time only with 32 vector registers: 16 accumulators + 8 loads; 16-register ISAs take 2.
        if (TOps.Count >= 16) Block<Rows4>(g, bt, ldbt, i0, i1);
        else Block<Rows2>(g, bt, ldbt, i0, i1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block<TCols>(in GemmArgs g, float* bt, nint ldbt, int i0, int i1) where TCols : struct, IRows
    {
        int w = TOps.Count, k = g.K, vecEnd = k - k % w;
        bool four = TCols.Count > 2;
        nint lda = g.Lda, ldc = g.Ldc;
        float* s = stackalloc float[16];
        for (int i = i0; i < i1; i += 4)
        {
            int rows = Math.Min(4, i1 - i);
            // Missing rows (and columns below) repeat the first one: computed, never stored.
            float* a0 = g.A + i * lda;
            float* a1 = rows > 1 ? a0 + lda : a0, a2 = rows > 2 ? a0 + 2 * lda : a0, a3 = rows > 3 ? a0 + 3 * lda : a0;
            for (int j = 0; j < g.N; j += TCols.Count)
            {
                int cols = Math.Min(TCols.Count, g.N - j);
                float* b0 = bt + j * ldbt;
                float* b1 = cols > 1 ? b0 + ldbt : b0, b2 = cols > 2 ? b0 + 2 * ldbt : b0, b3 = cols > 3 ? b0 + 3 * ldbt : b0;
                TV z = TOps.Splat(0f);
                TV c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
                TV c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
                for (int p = 0; p < vecEnd; p += w)
                {
                    TV x0 = TOps.Load(a0 + p), x1 = TOps.Load(a1 + p), x2 = TOps.Load(a2 + p), x3 = TOps.Load(a3 + p);
                    TV y0 = TOps.Load(b0 + p), y1 = TOps.Load(b1 + p);
                    c00 = TOps.MulAdd(x0, y0, c00); c10 = TOps.MulAdd(x1, y0, c10); c20 = TOps.MulAdd(x2, y0, c20); c30 = TOps.MulAdd(x3, y0, c30);
                    c01 = TOps.MulAdd(x0, y1, c01); c11 = TOps.MulAdd(x1, y1, c11); c21 = TOps.MulAdd(x2, y1, c21); c31 = TOps.MulAdd(x3, y1, c31);
                    if (four)
                    {
                        TV y2 = TOps.Load(b2 + p), y3 = TOps.Load(b3 + p);
                        c02 = TOps.MulAdd(x0, y2, c02); c12 = TOps.MulAdd(x1, y2, c12); c22 = TOps.MulAdd(x2, y2, c22); c32 = TOps.MulAdd(x3, y2, c32);
                        c03 = TOps.MulAdd(x0, y3, c03); c13 = TOps.MulAdd(x1, y3, c13); c23 = TOps.MulAdd(x2, y3, c23); c33 = TOps.MulAdd(x3, y3, c33);
                    }
                }
                // s[r*4 + c]: the lane sums, then the k tail in order.
                s[0] = TOps.SumAcross(c00); s[1] = TOps.SumAcross(c01); s[4] = TOps.SumAcross(c10); s[5] = TOps.SumAcross(c11);
                s[8] = TOps.SumAcross(c20); s[9] = TOps.SumAcross(c21); s[12] = TOps.SumAcross(c30); s[13] = TOps.SumAcross(c31);
                if (four)
                {
                    s[2] = TOps.SumAcross(c02); s[3] = TOps.SumAcross(c03); s[6] = TOps.SumAcross(c12); s[7] = TOps.SumAcross(c13);
                    s[10] = TOps.SumAcross(c22); s[11] = TOps.SumAcross(c23); s[14] = TOps.SumAcross(c32); s[15] = TOps.SumAcross(c33);
                }
                for (int r = 0; r < rows; r++)
                {
                    float* ap = r == 0 ? a0 : r == 1 ? a1 : r == 2 ? a2 : a3;
                    float* cr = g.C + (nint)(i + r) * ldc + j;
                    for (int c = 0; c < cols; c++)
                    {
                        float* bp = c == 0 ? b0 : c == 1 ? b1 : c == 2 ? b2 : b3;
                        float sum = s[r * 4 + c];
                        for (int p = vecEnd; p < k; p++) sum += ap[p] * bp[p];
                        cr[c] = g.Beta == 0 ? g.Alpha * sum : g.Alpha * sum + g.Beta * cr[c];
                    }
                }
            }
        }
    }
}
