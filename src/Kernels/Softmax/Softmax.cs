// Softmax and log-softmax, forward and backward, at every SimdWidth:
//  * row-wise over the last (contiguous) axis of x (rows, n): SIMD along the row;
//  * strided over the middle axis of x (outer, n, inner), e.g. over channels of (B, C, T): SIMD
//    across `inner` adjacent columns at once (each lane its own softmax), so no transpose is needed.
// Rows / outer slabs are independent, so threads split them; each reduction runs in a fixed order,
// so results are identical for any thread count.
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

    // ---- strided: softmax over the middle axis of (outer, n, inner) ----------------------

    /// <summary>Softmax over axis 1 of x (outer, n, inner): y[o,j,i] = exp(x[o,j,i] - m) / sum_j' exp(x[o,j',i] - m). x == y allowed.</summary>
    public static void ForwardStrided(float* x, float* y, int outer, int n, int inner) => ForwardStrided(x, y, outer, n, inner, Simd.Best);

    /// <inheritdoc cref="ForwardStrided(float*, float*, int, int, int)"/>
    public static void ForwardStrided(float* x, float* y, int outer, int n, int inner, SimdWidth width) => RunStrided<SoftmaxCols>(x, null, y, outer, n, inner, width);

    /// <summary>Log-softmax over axis 1 of x (outer, n, inner). x == y allowed.</summary>
    public static void LogForwardStrided(float* x, float* y, int outer, int n, int inner) => LogForwardStrided(x, y, outer, n, inner, Simd.Best);

    /// <inheritdoc cref="LogForwardStrided(float*, float*, int, int, int)"/>
    public static void LogForwardStrided(float* x, float* y, int outer, int n, int inner, SimdWidth width) => RunStrided<LogSoftmaxCols>(x, null, y, outer, n, inner, width);

    /// <summary>Backward of <see cref="ForwardStrided(float*, float*, int, int, int)"/>: dx = y * (dy - sum_j dy*y) along axis 1. dx may alias dy.</summary>
    public static void BackwardStrided(float* y, float* dy, float* dx, int outer, int n, int inner) => BackwardStrided(y, dy, dx, outer, n, inner, Simd.Best);

    /// <inheritdoc cref="BackwardStrided(float*, float*, float*, int, int, int)"/>
    public static void BackwardStrided(float* y, float* dy, float* dx, int outer, int n, int inner, SimdWidth width) => RunStrided<SoftmaxBackCols>(y, dy, dx, outer, n, inner, width);

    /// <summary>Backward of <see cref="LogForwardStrided(float*, float*, int, int, int)"/>: dx = dy - exp(y) * sum_j dy along axis 1. dx may alias dy.</summary>
    public static void LogBackwardStrided(float* y, float* dy, float* dx, int outer, int n, int inner) => LogBackwardStrided(y, dy, dx, outer, n, inner, Simd.Best);

    /// <inheritdoc cref="LogBackwardStrided(float*, float*, float*, int, int, int)"/>
    public static void LogBackwardStrided(float* y, float* dy, float* dx, int outer, int n, int inner, SimdWidth width) => RunStrided<LogSoftmaxBackCols>(y, dy, dx, outer, n, inner, width);

    interface IColOp
    {
        /// <summary>Processes TO.Count adjacent columns: element j of the column starts at p + j*inner.</summary>
        static abstract void Cols<TO, TV>(float* a, float* b, float* o, int n, int inner) where TO : struct, IVec<TV> where TV : struct;
    }

    static void RunStrided<TC>(float* a, float* b, float* o, int outer, int n, int inner, SimdWidth width) where TC : IColOp
    {
        if (outer < 0 || n < 0 || inner < 0) throw new ArgumentOutOfRangeException(nameof(outer), $"outer ({outer}), n ({n}), inner ({inner}) must be >= 0.");
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
        if (outer == 0 || n == 0 || inner == 0) return;
        if (a == null || o == null) throw new ArgumentNullException(nameof(a));
        nint pa = (nint)a, pb = (nint)b, po = (nint)o;
        long slab = (long)n * inner;
        KernelThreads.For(outer, (int)Math.Max(1, 32768 / slab), (s0, s1) =>
        {
            for (int s = s0; s < s1; s++)
            {
                long off = s * slab;
                float* sa = (float*)pa + off, sb = pb == 0 ? null : (float*)pb + off, so = (float*)po + off;
                int i = width switch
                {
                    SimdWidth.V512 => ColsAll<TC, V512Ops, Vector512<float>>(sa, sb, so, n, inner),
                    SimdWidth.V256 => ColsAll<TC, V256Ops, Vector256<float>>(sa, sb, so, n, inner),
                    SimdWidth.V128 => ColsAll<TC, V128Ops, Vector128<float>>(sa, sb, so, n, inner),
                    _ => 0,
                };
                // Remaining columns one at a time (ScalarOps is a one-lane vector).
                for (; i < inner; i++) TC.Cols<ScalarOps, float>(sa + i, sb == null ? null : sb + i, so + i, n, inner);
            }
        });
    }

    /// <summary>Runs the full vectors of columns; returns the first column not done.</summary>
    static int ColsAll<TC, TO, TV>(float* a, float* b, float* o, int n, int inner) where TC : IColOp where TO : struct, IVec<TV> where TV : struct
    {
        int i = 0;
        for (; i <= inner - TO.Count; i += TO.Count) TC.Cols<TO, TV>(a + i, b == null ? null : b + i, o + i, n, inner);
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TV ColMax<TO, TV>(float* x, int n, int inner) where TO : struct, IVec<TV> where TV : struct
    {
        TV m = TO.Splat(float.NegativeInfinity), nan = TO.Splat(0f);
        for (int j = 0; j < n; j++)
        {
            TV v = TO.Load(x + (long)j * inner);
            m = TO.Max(m, v);
            nan = TO.Or(nan, TO.IsNaN(v));   // MaxNative drops NaN; a NaN column gives NaN, as PyTorch
        }
        return TO.Select(nan, TO.Splat(float.NaN), m);
    }

    readonly struct SoftmaxCols : IColOp
    {
        public static void Cols<TO, TV>(float* x, float* unused, float* y, int n, int inner) where TO : struct, IVec<TV> where TV : struct
        {
            TV m = ColMax<TO, TV>(x, n, inner), s = TO.Splat(0f);
            for (int j = 0; j < n; j++)
            {
                TV e = VectorMath.Exp<TO, TV>(TO.Sub(TO.Load(x + (long)j * inner), m));
                TO.Store(y + (long)j * inner, e);
                s = TO.Add(s, e);
            }
            TV r = TO.Div(TO.Splat(1f), s);
            for (int j = 0; j < n; j++) TO.Store(y + (long)j * inner, TO.Mul(TO.Load(y + (long)j * inner), r));
        }
    }

    readonly struct LogSoftmaxCols : IColOp
    {
        public static void Cols<TO, TV>(float* x, float* unused, float* y, int n, int inner) where TO : struct, IVec<TV> where TV : struct
        {
            TV m = ColMax<TO, TV>(x, n, inner), s = TO.Splat(0f);
            for (int j = 0; j < n; j++) s = TO.Add(s, VectorMath.Exp<TO, TV>(TO.Sub(TO.Load(x + (long)j * inner), m)));
            TV shift = TO.Add(m, VectorMath.Log<TO, TV>(s));
            for (int j = 0; j < n; j++) TO.Store(y + (long)j * inner, TO.Sub(TO.Load(x + (long)j * inner), shift));
        }
    }

    readonly struct SoftmaxBackCols : IColOp
    {
        public static void Cols<TO, TV>(float* y, float* dy, float* dx, int n, int inner) where TO : struct, IVec<TV> where TV : struct
        {
            TV d = TO.Splat(0f);
            for (int j = 0; j < n; j++) d = TO.MulAdd(TO.Load(dy + (long)j * inner), TO.Load(y + (long)j * inner), d);
            for (int j = 0; j < n; j++)
            {
                long k = (long)j * inner;
                TO.Store(dx + k, TO.Mul(TO.Load(y + k), TO.Sub(TO.Load(dy + k), d)));
            }
        }
    }

    readonly struct LogSoftmaxBackCols : IColOp
    {
        public static void Cols<TO, TV>(float* y, float* dy, float* dx, int n, int inner) where TO : struct, IVec<TV> where TV : struct
        {
            TV s = TO.Splat(0f);
            for (int j = 0; j < n; j++) s = TO.Add(s, TO.Load(dy + (long)j * inner));
            for (int j = 0; j < n; j++)
            {
                long k = (long)j * inner;
                TO.Store(dx + k, TO.Sub(TO.Load(dy + k), TO.Mul(VectorMath.Exp<TO, TV>(TO.Load(y + k)), s)));
            }
        }
    }

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
        // Why: too few rows for a second chunk (a classifier's one row of logits) run right here, so the
        // call allocates no closure (the frozen-model runtime runs with zero allocations per inference).
        // (The fan-out is a separate method: a closure's captures are allocated on entry to the method declaring them.)
        if (rows < 2 * MinRows(n)) RowRange<TR>(a, b, o, 0, rows, n, width);
        else RunThreaded<TR>((nint)a, (nint)b, (nint)o, rows, n, width);
    }

    static void RunThreaded<TR>(nint pa, nint pb, nint po, int rows, int n, SimdWidth width) where TR : IRowOp =>
        KernelThreads.For(rows, MinRows(n), (r0, r1) => RowRange<TR>((float*)pa, (float*)pb, (float*)po, r0, r1, n, width));

    static void RowRange<TR>(float* a, float* b, float* o, int r0, int r1, int n, SimdWidth width) where TR : IRowOp
    {
        for (int r = r0; r < r1; r++)
        {
            long off = (long)r * n;
            float* ra = a + off, rb = b == null ? null : b + off, ro = o + off;
            switch (width)
            {
                case SimdWidth.V512: TR.Row<V512Ops, Vector512<float>>(ra, rb, ro, n); break;
                case SimdWidth.V256: TR.Row<V256Ops, Vector256<float>>(ra, rb, ro, n); break;
                case SimdWidth.V128: TR.Row<V128Ops, Vector128<float>>(ra, rb, ro, n); break;
                default: TR.Row<ScalarOps, float>(ra, rb, ro, n); break;
            }
        }
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

    /// <summary>Softmax over axis 1 of (outer, n, inner), by gathering each column and calling <see cref="Forward"/>.</summary>
    public static void ForwardStrided(float* x, float* y, int outer, int n, int inner, bool log)
    {
        var col = new float[n]; var res = new float[n];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                for (int j = 0; j < n; j++) col[j] = x[((long)o * n + j) * inner + i];
                fixed (float* pc = col, pr = res) Forward(pc, pr, 1, n, log);
                for (int j = 0; j < n; j++) y[((long)o * n + j) * inner + i] = res[j];
            }
    }

    /// <summary>Backward of <see cref="ForwardStrided"/>, column by column through <see cref="Backward"/>.</summary>
    public static void BackwardStrided(float* y, float* dy, float* dx, int outer, int n, int inner, bool log)
    {
        var cy = new float[n]; var cdy = new float[n]; var res = new float[n];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                for (int j = 0; j < n; j++) { long k = ((long)o * n + j) * inner + i; cy[j] = y[k]; cdy[j] = dy[k]; }
                fixed (float* p1 = cy, p2 = cdy, pr = res) Backward(p1, p2, pr, 1, n, log);
                for (int j = 0; j < n; j++) dx[((long)o * n + j) * inner + i] = res[j];
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
