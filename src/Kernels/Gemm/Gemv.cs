// Matrix-vector special case of SGEMM (m == 1 or n == 1): the packed path would spend more time
// packing than computing, and these shapes are memory-bound anyway, so they stream the matrix once.
//   y[j*incy] = alpha * sum_p x[p*incx] * M[p*rs + j*cs] + beta * y[j*incy],   j in [j0, j1), p in [0, k)
// Two memory orders: cs == 1 streams rows of M (axpy form), rs == 1 takes dot products of rows of M.
using System.Runtime.CompilerServices;

using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Gemm;

internal static unsafe class Gemv<TOps, TV> where TOps : struct, IVec<TV> where TV : struct
{
    /// <summary>Columns per L1-resident accumulator chunk in the row-streaming form (8 KiB).</summary>
    const int Chunk = 2048;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int j0, int j1, int k, float alpha, float* x, nint incx, float* mat, nint rs, nint cs,
        float beta, float* y, nint incy)
    {
        if (cs == 1) Rows(j0, j1, k, alpha, x, incx, mat, rs, beta, y, incy);
        else Dots(j0, j1, k, alpha, x, incx, mat, cs, rs, beta, y, incy);
    }

    // Row streaming: acc[j] += x[p] * M[p, j], four rows of M per pass over the L1 accumulator.
    // Why: M is read strictly sequentially (prefetch-friendly, it is the only large stream) and the
    // accumulator is loaded/stored once per four rows instead of once per row.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Rows(int j0, int j1, int k, float alpha, float* x, nint incx, float* mat, nint rs,
        float beta, float* y, nint incy)
    {
        int w = TOps.Count;
        float* acc = stackalloc float[Chunk];
        for (int jc = j0; jc < j1; jc += Chunk)
        {
            int len = Math.Min(Chunk, j1 - jc);
            int vecEnd = len - len % w;
            new Span<float>(acc, len).Clear();
            int p = 0;
            for (; p + 4 <= k; p += 4)
            {
                float* m0 = mat + p * rs + jc, m1 = m0 + rs, m2 = m1 + rs, m3 = m2 + rs;
                float x0 = x[p * incx], x1 = x[(p + 1) * incx], x2 = x[(p + 2) * incx], x3 = x[(p + 3) * incx];
                TV v0 = TOps.Splat(x0), v1 = TOps.Splat(x1), v2 = TOps.Splat(x2), v3 = TOps.Splat(x3);
                int j = 0;
                for (; j < vecEnd; j += w)
                {
                    TV s = TOps.Load(acc + j);
                    s = TOps.MulAdd(v0, TOps.Load(m0 + j), s);
                    s = TOps.MulAdd(v1, TOps.Load(m1 + j), s);
                    s = TOps.MulAdd(v2, TOps.Load(m2 + j), s);
                    s = TOps.MulAdd(v3, TOps.Load(m3 + j), s);
                    TOps.Store(acc + j, s);
                }
                for (; j < len; j++)
                    acc[j] = x3 * m3[j] + (x2 * m2[j] + (x1 * m1[j] + (x0 * m0[j] + acc[j])));
            }
            for (; p < k; p++)
            {
                float* m0 = mat + p * rs + jc;
                float x0 = x[p * incx];
                TV v0 = TOps.Splat(x0);
                int j = 0;
                for (; j < vecEnd; j += w) TOps.Store(acc + j, TOps.MulAdd(v0, TOps.Load(m0 + j), TOps.Load(acc + j)));
                for (; j < len; j++) acc[j] = x0 * m0[j] + acc[j];
            }
            Finish(acc, len, alpha, beta, y + jc * incy, incy);
        }
    }

    // Dot products: y[j] = x . M[j, :] with M rows contiguous along p, four rows at a time so x is
    // loaded once per four dot products.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Dots(int j0, int j1, int k, float alpha, float* x, nint incx, float* mat, nint rowStride, nint rs,
        float beta, float* y, nint incy)
    {
        _ = rs; // == 1 by the caller's choice of form
        int w = TOps.Count;
        float* xs = x;
        if (incx != 1)
        {
            // Gather a strided x once into scratch so the inner loop reads it with vector loads.
            xs = PackBuffers.A(k);
            for (int p = 0; p < k; p++) xs[p] = x[p * incx];
        }
        int vecEnd = k - k % w;
        float* sums = stackalloc float[4];
        int j = j0;
        for (; j < j1; j += 4)
        {
            int rows = Math.Min(4, j1 - j);
            float* r0 = mat + j * rowStride;
            float* r1 = rows > 1 ? r0 + rowStride : r0;
            float* r2 = rows > 2 ? r1 + rowStride : r0;
            float* r3 = rows > 3 ? r2 + rowStride : r0;
            TV a0 = TOps.Splat(0f), a1 = TOps.Splat(0f), a2 = TOps.Splat(0f), a3 = TOps.Splat(0f);
            for (int p = 0; p < vecEnd; p += w)
            {
                TV xv = TOps.Load(xs + p);
                a0 = TOps.MulAdd(xv, TOps.Load(r0 + p), a0);
                a1 = TOps.MulAdd(xv, TOps.Load(r1 + p), a1);
                a2 = TOps.MulAdd(xv, TOps.Load(r2 + p), a2);
                a3 = TOps.MulAdd(xv, TOps.Load(r3 + p), a3);
            }
            float s0 = TOps.SumAcross(a0), s1 = TOps.SumAcross(a1), s2 = TOps.SumAcross(a2), s3 = TOps.SumAcross(a3);
            for (int p = vecEnd; p < k; p++)
            {
                float xp = xs[p];
                s0 += xp * r0[p]; s1 += xp * r1[p]; s2 += xp * r2[p]; s3 += xp * r3[p];
            }
            sums[0] = s0; sums[1] = s1; sums[2] = s2; sums[3] = s3;
            Finish(sums, rows, alpha, beta, y + j * incy, incy);
        }
    }

    static void Finish(float* acc, int len, float alpha, float beta, float* y, nint incy)
    {
        if (beta == 0) for (int j = 0; j < len; j++) y[j * incy] = alpha * acc[j];
        else for (int j = 0; j < len; j++) y[j * incy] = alpha * acc[j] + beta * y[j * incy];
    }
}
