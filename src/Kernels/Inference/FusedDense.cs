// Fused dense / pointwise-convolution kernel of the frozen-model runtime, time-major:
//   y (rows, n) = act(x (rows, k) . w (k, n) + bias (n)),  x row stride k, y row stride n.
// A pointwise (1x1) conv over time-major activations (T, Cin) is exactly this with rows = T; a dense
// layer is rows = 1. Weights stay as exported, (k, n) row-major ("input-major"), so the runtime can use
// the memory-mapped file directly: no packing pass, no copy.
// Why this shape and not Sgemm: the runtime's GEMMs are small (T <= 399, n <= 512, k <= 512) and the
// weights are constant, so packing B on every call (Sgemm's driver) would cost as much as the
// multiply; here one (k, 2 vectors) column panel of w is streamed from L1/L2 for 6 rows of x at a time.
// Bias add and ReLU happen in registers before the single store (the fused epilogue).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Inference;

/// <summary>Activation fused into a kernel's epilogue.</summary>
public enum FusedActivation
{
    /// <summary>Identity.</summary>
    None = 0,
    /// <summary>max(0, v).</summary>
    Relu = 1,
}

/// <summary>y = act(x . w + bias) with x (rows, k), w (k, n), bias (n) or null, y (rows, n); all row-major, dense.</summary>
public static unsafe class FusedDense
{
    /// <summary>Rows of x per register tile.</summary>
    const int Mr = 6;

    /// <summary>On the process's widest SIMD path.</summary>
    public static void Run(float* x, int rows, int k, float* w, int n, float* bias, float* y, FusedActivation act)
        => Run(x, rows, k, w, n, bias, y, act, 0, n, Simd.Best);

    /// <summary>
    /// Output columns [<paramref name="j0"/>, <paramref name="j1"/>) only (a thread's share) on path <paramref name="width"/>:
    /// y[i, j] = act(sum_p x[i, p] w[p, j] + bias[j]) for i &lt; rows, j0 &lt;= j &lt; j1. Sums run over p in order (FMA where available).
    /// </summary>
    public static void Run(float* x, int rows, int k, float* w, int n, float* bias, float* y, FusedActivation act, int j0, int j1, SimdWidth width)
    {
        if (rows < 0 || k < 0 || n < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"expected rows, k, n >= 0, got {rows}, {k}, {n}.");
        if (j0 < 0 || j1 > n || j0 > j1) throw new ArgumentOutOfRangeException(nameof(j0), $"expected 0 <= j0 <= j1 <= n={n}, got [{j0}, {j1}).");
        if (!Simd.Supports(width)) throw new NotSupportedException($"SIMD path {width} is not available in this process (best: {Simd.Best}).");
        if (rows == 0 || j0 == j1) return;
        bool relu = act == FusedActivation.Relu;
        switch (width)
        {
            case SimdWidth.V512: Impl<V512Ops, Vector512<float>>(x, rows, k, w, n, bias, y, relu, j0, j1); break;
            case SimdWidth.V256: Impl<V256Ops, Vector256<float>>(x, rows, k, w, n, bias, y, relu, j0, j1); break;
            case SimdWidth.V128: Impl<V128Ops, Vector128<float>>(x, rows, k, w, n, bias, y, relu, j0, j1); break;
            default: Scalar(x, rows, k, w, n, bias, y, relu, j0, j1); break;
        }
    }

    static void Impl<TO, TV>(float* x, int rows, int k, float* w, int n, float* bias, float* y, bool relu, int j0, int j1)
        where TO : struct, IVec<TV> where TV : struct
    {
        int vl = TO.Count, nr = 2 * vl;
        int j = j0;
        for (; j + nr <= j1; j += nr)
        {
            if (rows == 1) { Tile1x2<TO, TV>(x, k, w + j, n, bias == null ? null : bias + j, y + j, relu); continue; }
            for (int i = 0; i < rows; i += Mr)
                Tile6x2<TO, TV>(x, i, rows, k, w + j, n, bias == null ? null : bias + j, y + j, relu);
        }
        for (; j + vl <= j1; j += vl)
            for (int i = 0; i < rows; i++)
                Tile1x1<TO, TV>(x + (nint)i * k, k, w + j, n, bias == null ? null : bias + j, y + (nint)i * n + j, relu);
        if (j < j1) Scalar(x, rows, k, w, n, bias, y, relu, j, j1);
    }

    // Six rows of x by two vectors of columns. Rows past the end alias the last row (computed, never stored),
    // so one tile shape serves every row count without a remainder kernel.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Tile6x2<TO, TV>(float* x, int i, int rows, int k, float* w, int n, float* bias, float* y, bool relu)
        where TO : struct, IVec<TV> where TV : struct
    {
        int last = rows - 1;
        float* x0 = x + (nint)i * k, x1 = x + (nint)Math.Min(i + 1, last) * k, x2 = x + (nint)Math.Min(i + 2, last) * k;
        float* x3 = x + (nint)Math.Min(i + 3, last) * k, x4 = x + (nint)Math.Min(i + 4, last) * k, x5 = x + (nint)Math.Min(i + 5, last) * k;
        TV z = TO.Splat(0);
        TV c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        int vl = TO.Count;
        float* wp = w;
        for (int p = 0; p < k; p++, wp += n)
        {
            TV b0 = TO.Load(wp), b1 = TO.Load(wp + vl);
            TV a = TO.Splat(x0[p]); c00 = TO.MulAdd(a, b0, c00); c01 = TO.MulAdd(a, b1, c01);
            a = TO.Splat(x1[p]); c10 = TO.MulAdd(a, b0, c10); c11 = TO.MulAdd(a, b1, c11);
            a = TO.Splat(x2[p]); c20 = TO.MulAdd(a, b0, c20); c21 = TO.MulAdd(a, b1, c21);
            a = TO.Splat(x3[p]); c30 = TO.MulAdd(a, b0, c30); c31 = TO.MulAdd(a, b1, c31);
            a = TO.Splat(x4[p]); c40 = TO.MulAdd(a, b0, c40); c41 = TO.MulAdd(a, b1, c41);
            a = TO.Splat(x5[p]); c50 = TO.MulAdd(a, b0, c50); c51 = TO.MulAdd(a, b1, c51);
        }
        TV bias0 = bias == null ? z : TO.Load(bias), bias1 = bias == null ? z : TO.Load(bias + vl);
        int valid = Math.Min(Mr, rows - i);
        float* yr = y + (nint)i * n;
        Store2<TO, TV>(yr, vl, c00, c01, bias0, bias1, relu);
        if (valid > 1) Store2<TO, TV>(yr + n, vl, c10, c11, bias0, bias1, relu);
        if (valid > 2) Store2<TO, TV>(yr + 2 * (nint)n, vl, c20, c21, bias0, bias1, relu);
        if (valid > 3) Store2<TO, TV>(yr + 3 * (nint)n, vl, c30, c31, bias0, bias1, relu);
        if (valid > 4) Store2<TO, TV>(yr + 4 * (nint)n, vl, c40, c41, bias0, bias1, relu);
        if (valid > 5) Store2<TO, TV>(yr + 5 * (nint)n, vl, c50, c51, bias0, bias1, relu);
    }

    // One row (a dense layer): four partial sums per column vector hide the FMA latency of the single chain.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Tile1x2<TO, TV>(float* x, int k, float* w, int n, float* bias, float* y, bool relu)
        where TO : struct, IVec<TV> where TV : struct
    {
        int vl = TO.Count;
        TV z = TO.Splat(0);
        TV c0 = z, c1 = z, d0 = z, d1 = z;
        float* wp = w;
        int p = 0;
        for (; p + 2 <= k; p += 2, wp += 2 * (nint)n)
        {
            TV a = TO.Splat(x[p]), e = TO.Splat(x[p + 1]);
            c0 = TO.MulAdd(a, TO.Load(wp), c0); c1 = TO.MulAdd(a, TO.Load(wp + vl), c1);
            d0 = TO.MulAdd(e, TO.Load(wp + n), d0); d1 = TO.MulAdd(e, TO.Load(wp + n + vl), d1);
        }
        if (p < k)
        {
            TV a = TO.Splat(x[p]);
            c0 = TO.MulAdd(a, TO.Load(wp), c0); c1 = TO.MulAdd(a, TO.Load(wp + vl), c1);
        }
        Store2<TO, TV>(y, vl, TO.Add(c0, d0), TO.Add(c1, d1), bias == null ? z : TO.Load(bias), bias == null ? z : TO.Load(bias + vl), relu);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Tile1x1<TO, TV>(float* x, int k, float* w, int n, float* bias, float* y, bool relu)
        where TO : struct, IVec<TV> where TV : struct
    {
        TV c = TO.Splat(0);
        float* wp = w;
        for (int p = 0; p < k; p++, wp += n) c = TO.MulAdd(TO.Splat(x[p]), TO.Load(wp), c);
        if (bias != null) c = TO.Add(c, TO.Load(bias));
        if (relu) c = TO.Max(c, TO.Splat(0));
        TO.Store(y, c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store2<TO, TV>(float* y, int vl, TV c0, TV c1, TV b0, TV b1, bool relu) where TO : struct, IVec<TV> where TV : struct
    {
        c0 = TO.Add(c0, b0); c1 = TO.Add(c1, b1);
        if (relu) { TV z = TO.Splat(0); c0 = TO.Max(c0, z); c1 = TO.Max(c1, z); }
        TO.Store(y, c0); TO.Store(y + vl, c1);
    }

    static void Scalar(float* x, int rows, int k, float* w, int n, float* bias, float* y, bool relu, int j0, int j1)
    {
        for (int i = 0; i < rows; i++)
            for (int j = j0; j < j1; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++) s += x[(nint)i * k + p] * w[(nint)p * n + j];
                s += bias == null ? 0f : bias[j];
                y[(nint)i * n + j] = relu ? MathF.Max(s, 0f) : s;
            }
    }
}
