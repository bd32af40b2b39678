// Row-wise softmax and log-softmax over the last (contiguous) axis of x (rows, n), forward and
// backward, at every SimdWidth. The softmax axis must be the last one: a caller reducing over
// another axis of (outer, n, inner) transposes it last first (or uses inner == 1 views).
// Rows are independent, so threads split the rows; each row is reduced in a fixed order, so
// results are identical for any thread count.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Softmax;

/// <summary>Softmax / log-softmax over the last axis of a row-major (rows, n) matrix.</summary>
public static unsafe class SoftmaxKernels
{
    // Rows per thread chunk is sized so that a chunk holds at least ~32k elements: below that the
    // thread hand-off costs more than the work.
    static int MinRows(int n) => Math.Max(1, 32768 / Math.Max(1, n));

    /// <summary>y[r,i] = exp(x[r,i] - max_r) / sum_j exp(x[r,j] - max_r). x, y (rows, n); x == y allowed.</summary>
    public static void Forward(float* x, float* y, int rows, int n) => Forward(x, y, rows, n, Simd.Best);

    /// <inheritdoc cref="Forward(float*, float*, int, int)"/>
    public static void Forward(float* x, float* y, int rows, int n, SimdWidth width) => Run<SoftmaxRow>(x, null, y, rows, n, width);

    /// <summary>y[r,i] = x[r,i] - max_r - log sum_j exp(x[r,j] - max_r). x, y (rows, n); x == y allowed.</summary>
    public static void LogForward(float* x, float* y, int rows, int n) => LogForward(x, y, rows, n, Simd.Best);

    /// <inheritdoc cref="LogForward(float*, float*, int, int)"/>
    public static void LogForward(float* x, float* y, int rows, int n, SimdWidth width) => Run<LogSoftmaxRow>(x, null, y, rows, n, width);

    /// <summary>Softmax backward: dx = y * (dy - sum_j dy_j y_j) per row. y is the forward output; y, dy, dx (rows, n); dx may alias dy.</summary>
    public static void Backward(float* y, float* dy, float* dx, int rows, int n) => Backward(y, dy, dx, rows, n, Simd.Best);

    /// <inheritdoc cref="Backward(float*, float*, float*, int, int)"/>
    public static void Backward(float* y, float* dy, float* dx, int rows, int n, SimdWidth width) => Run<SoftmaxBackRow>(y, dy, dx, rows, n, width);

    /// <summary>Log-softmax backward: dx = dy - exp(y) * sum_j dy_j per row. y is the forward output (log-probabilities); dx may alias dy.</summary>
    public static void LogBackward(float* y, float* dy, float* dx, int rows, int n) => LogBackward(y, dy, dx, rows, n, Simd.Best);

    /// <inheritdoc cref="LogBackward(float*, float*, float*, int, int)"/>
    public static void LogBackward(float* y, float* dy, float* dx, int rows, int n, SimdWidth width) => Run<LogSoftmaxBackRow>(y, dy, dx, rows, n, width);

    // ---- dispatch -------------------------------------------------------------------------

    interface IRowOp
    {
        static abstract void Row<TO, TV>(float* a, float* b, float* o, int n) where TO : struct, IVec<TV> where TV : struct;
    }

    static void Run<TR>(float* a, float* b, float* o, int rows, int n, SimdWidth width) where TR : IRowOp
    {
        if (rows < 0 || n < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"rows ({rows}) and n ({n}) must be >= 0.");
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
        if (rows == 0 || n == 0) return;
        if (a == null || o == null) throw new ArgumentNullException(nameof(a));
        nint pa = (nint)a, pb = (nint)b, po = (nint)o;
        KernelThreads.For(rows, MinRows(n), (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                long off = (long)r * n;
                float* ra = (float*)pa + off, rb = pb == 0 ? null : (float*)pb + off, ro = (float*)po + off;
                switch (width)
                {
                    case SimdWidth.V512: TR.Row<V512Ops, Vector512<float>>(ra, rb, ro, n); break;
                    case SimdWidth.V256: TR.Row<V256Ops, Vector256<float>>(ra, rb, ro, n); break;
                    case SimdWidth.V128: TR.Row<V128Ops, Vector128<float>>(ra, rb, ro, n); break;
                    default: TR.Row<ScalarOps, float>(ra, rb, ro, n); break;
                }
            }
        });
    }

    // ---- row helpers: vector body + scalar tail, written once ----------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float RowMax<TO, TV>(float* x, int n) where TO : struct, IVec<TV> where TV : struct
    {
        int i = 0;
        float m = float.NegativeInfinity;
        bool nan = false;
        if (n >= TO.Count)
        {
            TV vm = TO.Splat(float.NegativeInfinity), vn = TO.Splat(0f);
            for (; i <= n - TO.Count; i += TO.Count)
            {
                TV v = TO.Load(x + i);
                vm = TO.Max(vm, v);
                vn = TO.Or(vn, TO.IsNaN(v));   // MaxNative drops NaN; remember it separately
            }
            m = TO.MaxAcross(vm);
            nan = TO.SumAcross(TO.And(vn, TO.Splat(1f))) != 0f;
        }
        for (; i < n; i++) { m = x[i] > m ? x[i] : m; nan |= float.IsNaN(x[i]); }
        return nan ? float.NaN : m;
    }

    /// <summary>o[i] = exp(x[i] - shift); returns the sum of o.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float ExpShiftSum<TO, TV>(float* x, float shift, float* o, int n) where TO : struct, IVec<TV> where TV : struct
    {
        int i = 0;
        TV vs = TO.Splat(0f), vsh = TO.Splat(shift);
        for (; i <= n - TO.Count; i += TO.Count)
        {
            TV e = VectorMath.Exp<TO, TV>(TO.Sub(TO.Load(x + i), vsh));
            if (o != null) TO.Store(o + i, e);
            vs = TO.Add(vs, e);
        }
        float s = TO.SumAcross(vs);
        for (; i < n; i++)
        {
            float e = VectorMath.Exp<ScalarOps, float>(x[i] - shift);
            if (o != null) o[i] = e;
            s += e;
        }
        return s;
    }

    /// <summary>o[i] = a[i] * scale + add.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ScaleAdd<TO, TV>(float* a, float scale, float add, float* o, int n) where TO : struct, IVec<TV> where TV : struct
    {
        int i = 0;
        TV vs = TO.Splat(scale), va = TO.Splat(add);
        for (; i <= n - TO.Count; i += TO.Count) TO.Store(o + i, TO.MulAdd(TO.Load(a + i), vs, va));
        for (; i < n; i++) o[i] = a[i] * scale + add;
    }

    readonly struct SoftmaxRow : IRowOp
    {
        public static void Row<TO, TV>(float* x, float* unused, float* y, int n) where TO : struct, IVec<TV> where TV : struct
        {
            float m = RowMax<TO, TV>(x, n);
            float s = ExpShiftSum<TO, TV>(x, m, y, n);
            ScaleAdd<TO, TV>(y, 1f / s, 0f, y, n);
        }
    }

    readonly struct LogSoftmaxRow : IRowOp
    {
        public static void Row<TO, TV>(float* x, float* unused, float* y, int n) where TO : struct, IVec<TV> where TV : struct
        {
            float m = RowMax<TO, TV>(x, n);
            // Sum only (no store): y may alias x, which is still needed for the second pass.
            float s = ExpShiftSum<TO, TV>(x, m, null, n);
            ScaleAdd<TO, TV>(x, 1f, -(m + MathF.Log(s)), y, n);
        }
    }

    readonly struct SoftmaxBackRow : IRowOp
    {
        public static void Row<TO, TV>(float* y, float* dy, float* dx, int n) where TO : struct, IVec<TV> where TV : struct
        {
            int i = 0;
            TV acc = TO.Splat(0f);
            for (; i <= n - TO.Count; i += TO.Count) acc = TO.MulAdd(TO.Load(dy + i), TO.Load(y + i), acc);
            float dot = TO.SumAcross(acc);
            for (; i < n; i++) dot += dy[i] * y[i];
            TV vd = TO.Splat(dot);
            for (i = 0; i <= n - TO.Count; i += TO.Count) TO.Store(dx + i, TO.Mul(TO.Load(y + i), TO.Sub(TO.Load(dy + i), vd)));
            for (; i < n; i++) dx[i] = y[i] * (dy[i] - dot);
        }
    }

    readonly struct LogSoftmaxBackRow : IRowOp
    {
        public static void Row<TO, TV>(float* y, float* dy, float* dx, int n) where TO : struct, IVec<TV> where TV : struct
        {
            int i = 0;
            TV acc = TO.Splat(0f);
            for (; i <= n - TO.Count; i += TO.Count) acc = TO.Add(acc, TO.Load(dy + i));
            float s = TO.SumAcross(acc);
            for (; i < n; i++) s += dy[i];
            TV vs = TO.Splat(s);
            for (i = 0; i <= n - TO.Count; i += TO.Count)
                TO.Store(dx + i, TO.Sub(TO.Load(dy + i), TO.Mul(VectorMath.Exp<TO, TV>(TO.Load(y + i)), vs)));
            for (; i < n; i++) dx[i] = dy[i] - VectorMath.Exp<ScalarOps, float>(y[i]) * s;
        }
    }
}

/// <summary>Plain double-precision reference for <see cref="SoftmaxKernels"/>; the tests compare every path to it.</summary>
public static unsafe class SoftmaxReference
{
    /// <summary>Softmax (or log-softmax when <paramref name="log"/>) of each row of x (rows, n), computed in double.</summary>
    public static void Forward(float* x, float* y, int rows, int n, bool log)
    {
        for (int r = 0; r < rows; r++)
        {
            float* xr = x + (long)r * n, yr = y + (long)r * n;
            double m = double.NegativeInfinity;
            bool nan = false;
            for (int i = 0; i < n; i++) { m = Math.Max(m, xr[i]); nan |= float.IsNaN(xr[i]); }
            if (nan) m = double.NaN;
            double s = 0;
            for (int i = 0; i < n; i++) s += Math.Exp(xr[i] - m);
            double ls = Math.Log(s);
            for (int i = 0; i < n; i++) yr[i] = (float)(log ? xr[i] - m - ls : Math.Exp(xr[i] - m) / s);
        }
    }

    /// <summary>Backward of <see cref="Forward"/> given its output y and the upstream gradient dy, in double.</summary>
    public static void Backward(float* y, float* dy, float* dx, int rows, int n, bool log)
    {
        for (int r = 0; r < rows; r++)
        {
            long o = (long)r * n;
            double s = 0;
            for (int i = 0; i < n; i++) s += log ? dy[o + i] : (double)dy[o + i] * y[o + i];
            for (int i = 0; i < n; i++)
                dx[o + i] = (float)(log ? dy[o + i] - Math.Exp(y[o + i]) * s : y[o + i] * (dy[o + i] - s));
        }
    }
}
