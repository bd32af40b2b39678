// Fused dense / pointwise-convolution kernel of the frozen-model runtime, time-major:
//   y (rows, n) = act(x (rows, k) . w (k, n) + bias (n)),  x row stride k, y row stride n,
// with w float32, or int8 with a per-column scale: y = act(scale[j] * sum_p x[i, p] q[p, j] + bias[j]).
// A pointwise (1x1) conv over time-major activations (T, Cin) is exactly this with rows = T; a dense
// layer is rows = 1. Weights stay as exported, (k, n) row-major ("input-major"), so the runtime uses the
// memory-mapped file directly: no packing pass, no copy, and int8 weights are widened in registers.
// Why this shape and not Sgemm: the runtime's GEMMs are small (T <= 399, n <= 512, k <= 512) and the
// weights are constant, so packing B on every call (Sgemm's driver) would cost as much as the
// multiply; here one (k, 2 vectors) column panel of w is streamed from L1/L2 for 6 rows of x at a time.
// Scale, bias and ReLU happen in registers before the single store (the fused epilogue).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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

/// <summary>y = act(x . w + bias) with x (rows, k), w (k, n) float32 or int8 with per-column scales, bias (n) or null, y (rows, n); all row-major, dense.</summary>
public static unsafe class FusedDense
{
    /// <summary>Rows of x per register tile.</summary>
    const int Mr = 6;

    /// <summary>On the process's widest SIMD path, all columns.</summary>
    public static void Run(float* x, int rows, int k, float* w, int n, float* bias, float* y, FusedActivation act)
        => Run(x, rows, k, w, n, bias, y, act, 0, n, Simd.Best);

    /// <summary>
    /// Output columns [<paramref name="j0"/>, <paramref name="j1"/>) only (a thread's share) on path <paramref name="width"/>:
    /// y[i, j] = act(sum_p x[i, p] w[p, j] + bias[j]) for i &lt; rows, j0 &lt;= j &lt; j1. Sums run over p in order (FMA where available).
    /// </summary>
    /// <remarks><paramref name="ldw"/>: the row stride of w in elements (0: n). Why a stride: w rows of 2048 floats (8 KB) put a
    /// column panel's cache lines in few L2 sets, so each row tile rereads it; a padded stride (n + 16) keeps it resident.</remarks>
    public static void Run(float* x, int rows, int k, float* w, int n, float* bias, float* y, FusedActivation act, int j0, int j1, SimdWidth width, int ldw = 0)
        => Dispatch<F32Weights>(x, rows, k, (byte*)w, null, n, bias, y, act, j0, j1, width, ldw);

    /// <summary>
    /// As <see cref="Run(float*, int, int, float*, int, float*, float*, FusedActivation, int, int, SimdWidth, int)"/> with int8 weights
    /// q (k, n) and per-column scales: y[i, j] = act(scale[j] * sum_p x[i, p] q[p, j] + bias[j]).
    /// </summary>
    public static void RunInt8(float* x, int rows, int k, sbyte* q, float* scale, int n, float* bias, float* y, FusedActivation act, int j0, int j1, SimdWidth width, int ldw = 0)
    {
        ArgumentNullException.ThrowIfNull(scale);
        Dispatch<I8Weights>(x, rows, k, (byte*)q, scale, n, bias, y, act, j0, j1, width, ldw);
    }

    static void Dispatch<TW>(float* x, int rows, int k, byte* w, float* scale, int n, float* bias, float* y, FusedActivation act, int j0, int j1, SimdWidth width, int ldw)
        where TW : struct, IWeights
    {
        if (ldw == 0) ldw = n;
        if (ldw < n) throw new ArgumentOutOfRangeException(nameof(ldw), ldw, $"expected the weight row stride ldw >= n = {n} (or 0).");
        if (rows < 0 || k < 0 || n < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"expected rows, k, n >= 0, got {rows}, {k}, {n}.");
        if (j0 < 0 || j1 > n || j0 > j1) throw new ArgumentOutOfRangeException(nameof(j0), $"expected 0 <= j0 <= j1 <= n={n}, got [{j0}, {j1}).");
        if (!Simd.Supports(width)) throw new NotSupportedException($"SIMD path {width} is not available in this process (best: {Simd.Best}).");
        if (rows == 0 || j0 == j1) return;
        var e = new Epilogue(bias, scale, act == FusedActivation.Relu);
        switch (width)
        {
            case SimdWidth.V512: Impl<TW, V512Ops, Vector512<float>>(x, rows, k, w, n, ldw, e, y, j0, j1); break;
            case SimdWidth.V256: Impl<TW, V256Ops, Vector256<float>>(x, rows, k, w, n, ldw, e, y, j0, j1); break;
            case SimdWidth.V128: Impl<TW, V128Ops, Vector128<float>>(x, rows, k, w, n, ldw, e, y, j0, j1); break;
            default: Scalar<TW>(x, rows, k, w, n, ldw, e, y, j0, j1); break;
        }
    }

    /// <summary>Bias, scale (null for float32 weights) and ReLU applied to the accumulators.</summary>
    readonly struct Epilogue(float* bias, float* scale, bool relu)
    {
        public readonly float* Bias = bias, Scale = scale;
        public readonly bool Relu = relu;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store<TO, TV>(float* y, int j, TV c) where TO : struct, IVec<TV> where TV : struct
        {
            if (Scale != null) c = TO.Mul(c, TO.Load(Scale + j));
            if (Bias != null) c = TO.Add(c, TO.Load(Bias + j));
            if (Relu) c = TO.Max(c, TO.Splat(0));
            TO.Store(y, c);
        }

        public float Apply(float s, int j)
        {
            if (Scale != null) s *= Scale[j];
            if (Bias != null) s += Bias[j];
            return Relu ? MathF.Max(s, 0f) : s;
        }
    }

    /// <summary>How a weight element is stored: its size and how a vector of them becomes floats.</summary>
    interface IWeights
    {
        static abstract int Size { get; }
        static abstract TV Load<TO, TV>(byte* p) where TO : struct, IVec<TV> where TV : struct;
        static abstract float Scalar(byte* p);
    }

    readonly struct F32Weights : IWeights
    {
        public static int Size => 4;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Load<TO, TV>(byte* p) where TO : struct, IVec<TV> where TV : struct => TO.Load((float*)p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Scalar(byte* p) => *(float*)p;
    }

    // int8 -> float32 in registers: one sign-extending load (vpmovsxbd) and a convert on x86; portable widening elsewhere (ARM64).
    readonly struct I8Weights : IWeights
    {
        public static int Size => 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Load<TO, TV>(byte* p) where TO : struct, IVec<TV> where TV : struct
        {
            if (typeof(TV) == typeof(Vector512<float>))
            {
                Vector512<int> v = Avx512F.IsSupported ? Avx512F.ConvertToVector512Int32(Vector128.Load((sbyte*)p))
                    : Vector512.Create(Vector256.Create(Widen4(p), Widen4(p + 4)), Vector256.Create(Widen4(p + 8), Widen4(p + 12)));
                return (TV)(object)Vector512.ConvertToSingle(v);
            }
            if (typeof(TV) == typeof(Vector256<float>))
            {
                Vector256<int> v = Avx2.IsSupported ? Avx2.ConvertToVector256Int32((sbyte*)p) : Vector256.Create(Widen4(p), Widen4(p + 4));
                return (TV)(object)Vector256.ConvertToSingle(v);
            }
            if (typeof(TV) == typeof(Vector128<float>)) return (TV)(object)Vector128.ConvertToSingle(Widen4(p));
            return (TV)(object)(float)*(sbyte*)p;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector128<int> Widen4(byte* p)
        {
            if (Sse41.IsSupported) return Sse41.ConvertToVector128Int32((sbyte*)p);
            var b = Vector128.CreateScalar(Unsafe.ReadUnaligned<int>(p)).AsSByte();
            return Vector128.WidenLower(Vector128.WidenLower(b));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Scalar(byte* p) => *(sbyte*)p;
    }

    static void Impl<TW, TO, TV>(float* x, int rows, int k, byte* w, int n, int ldw, Epilogue e, float* y, int j0, int j1)
        where TW : struct, IWeights where TO : struct, IVec<TV> where TV : struct
    {
        int vl = TO.Count, nr = 2 * vl;
        int j = j0;
        for (; j + nr <= j1; j += nr)
        {
            if (rows == 1) { Tile1x2<TW, TO, TV>(x, k, w + (nint)j * TW.Size, ldw, e, y, j); continue; }
            for (int i = 0; i < rows; i += Mr)
                Tile6x2<TW, TO, TV>(x, i, rows, k, w + (nint)j * TW.Size, n, ldw, e, y, j);
        }
        for (; j + vl <= j1; j += vl)
            for (int i = 0; i < rows; i++)
                Tile1x1<TW, TO, TV>(x + (nint)i * k, k, w + (nint)j * TW.Size, ldw, e, y + (nint)i * n, j);
        if (j < j1) Scalar<TW>(x, rows, k, w, n, ldw, e, y, j, j1);
    }

    // Six rows of x by two vectors of columns. Rows past the end alias the last row (computed, never stored),
    // so one tile shape serves every row count without a remainder kernel.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Tile6x2<TW, TO, TV>(float* x, int i, int rows, int k, byte* w, int n, int ldw, Epilogue e, float* y, int j)
        where TW : struct, IWeights where TO : struct, IVec<TV> where TV : struct
    {
        int last = rows - 1;
        float* x0 = x + (nint)i * k, x1 = x + (nint)Math.Min(i + 1, last) * k, x2 = x + (nint)Math.Min(i + 2, last) * k;
        float* x3 = x + (nint)Math.Min(i + 3, last) * k, x4 = x + (nint)Math.Min(i + 4, last) * k, x5 = x + (nint)Math.Min(i + 5, last) * k;
        TV z = TO.Splat(0);
        TV c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        int vl = TO.Count;
        nint step = (nint)ldw * TW.Size, second = (nint)vl * TW.Size;
        byte* wp = w;
        for (int p = 0; p < k; p++, wp += step)
        {
            TV b0 = TW.Load<TO, TV>(wp), b1 = TW.Load<TO, TV>(wp + second);
            TV a = TO.Splat(x0[p]); c00 = TO.MulAdd(a, b0, c00); c01 = TO.MulAdd(a, b1, c01);
            a = TO.Splat(x1[p]); c10 = TO.MulAdd(a, b0, c10); c11 = TO.MulAdd(a, b1, c11);
            a = TO.Splat(x2[p]); c20 = TO.MulAdd(a, b0, c20); c21 = TO.MulAdd(a, b1, c21);
            a = TO.Splat(x3[p]); c30 = TO.MulAdd(a, b0, c30); c31 = TO.MulAdd(a, b1, c31);
            a = TO.Splat(x4[p]); c40 = TO.MulAdd(a, b0, c40); c41 = TO.MulAdd(a, b1, c41);
            a = TO.Splat(x5[p]); c50 = TO.MulAdd(a, b0, c50); c51 = TO.MulAdd(a, b1, c51);
        }
        int valid = Math.Min(Mr, rows - i);
        float* yr = y + (nint)i * n + j;
        e.Store<TO, TV>(yr, j, c00); e.Store<TO, TV>(yr + vl, j + vl, c01);
        if (valid > 1) { e.Store<TO, TV>(yr + n, j, c10); e.Store<TO, TV>(yr + n + vl, j + vl, c11); }
        if (valid > 2) { e.Store<TO, TV>(yr + 2 * (nint)n, j, c20); e.Store<TO, TV>(yr + 2 * (nint)n + vl, j + vl, c21); }
        if (valid > 3) { e.Store<TO, TV>(yr + 3 * (nint)n, j, c30); e.Store<TO, TV>(yr + 3 * (nint)n + vl, j + vl, c31); }
        if (valid > 4) { e.Store<TO, TV>(yr + 4 * (nint)n, j, c40); e.Store<TO, TV>(yr + 4 * (nint)n + vl, j + vl, c41); }
        if (valid > 5) { e.Store<TO, TV>(yr + 5 * (nint)n, j, c50); e.Store<TO, TV>(yr + 5 * (nint)n + vl, j + vl, c51); }
    }

    // One row (a dense layer): four partial sums per column vector hide the FMA latency of the single chain.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Tile1x2<TW, TO, TV>(float* x, int k, byte* w, int ldw, Epilogue e, float* y, int j)
        where TW : struct, IWeights where TO : struct, IVec<TV> where TV : struct
    {
        int vl = TO.Count;
        TV z = TO.Splat(0);
        TV c0 = z, c1 = z, d0 = z, d1 = z;
        nint step = (nint)ldw * TW.Size, second = (nint)vl * TW.Size;
        byte* wp = w;
        int p = 0;
        for (; p + 2 <= k; p += 2, wp += 2 * step)
        {
            TV a = TO.Splat(x[p]), b = TO.Splat(x[p + 1]);
            c0 = TO.MulAdd(a, TW.Load<TO, TV>(wp), c0); c1 = TO.MulAdd(a, TW.Load<TO, TV>(wp + second), c1);
            d0 = TO.MulAdd(b, TW.Load<TO, TV>(wp + step), d0); d1 = TO.MulAdd(b, TW.Load<TO, TV>(wp + step + second), d1);
        }
        if (p < k)
        {
            TV a = TO.Splat(x[p]);
            c0 = TO.MulAdd(a, TW.Load<TO, TV>(wp), c0); c1 = TO.MulAdd(a, TW.Load<TO, TV>(wp + second), c1);
        }
        e.Store<TO, TV>(y + j, j, TO.Add(c0, d0));
        e.Store<TO, TV>(y + j + vl, j + vl, TO.Add(c1, d1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Tile1x1<TW, TO, TV>(float* x, int k, byte* w, int ldw, Epilogue e, float* y, int j)
        where TW : struct, IWeights where TO : struct, IVec<TV> where TV : struct
    {
        TV c = TO.Splat(0);
        nint step = (nint)ldw * TW.Size;
        byte* wp = w;
        for (int p = 0; p < k; p++, wp += step) c = TO.MulAdd(TO.Splat(x[p]), TW.Load<TO, TV>(wp), c);
        e.Store<TO, TV>(y + j, j, c);
    }

    static void Scalar<TW>(float* x, int rows, int k, byte* w, int n, int ldw, Epilogue e, float* y, int j0, int j1) where TW : struct, IWeights
    {
        for (int i = 0; i < rows; i++)
            for (int j = j0; j < j1; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++) s += x[(nint)i * k + p] * TW.Scalar(w + ((nint)p * ldw + j) * TW.Size);
                y[(nint)i * n + j] = e.Apply(s, j);
            }
    }
}

/// <summary>A weight matrix (k, n) for <see cref="FusedDense"/>: float32, or int8 with per-column scales (exactly one of F32 / I8 set).</summary>
public readonly unsafe struct DenseWeights(float* f32, sbyte* i8, float* scale, int ldw = 0)
{
    /// <summary>Row stride of the weights in elements (0: n, dense).</summary>
    public readonly int Ldw = ldw;
    /// <summary>Float32 weights, or null.</summary>
    public readonly float* F32 = f32;
    /// <summary>Int8 weights, or null.</summary>
    public readonly sbyte* I8 = i8;
    /// <summary>Per-column scales of <see cref="I8"/>.</summary>
    public readonly float* Scale = scale;

    /// <summary>y = act(x . w + bias) over output columns [j0, j1): FusedDense.Run or RunInt8, whichever these weights are.</summary>
    public void Run(float* x, int rows, int k, int n, float* bias, float* y, FusedActivation act, int j0, int j1, SimdWidth width)
    {
        if (F32 != null) FusedDense.Run(x, rows, k, F32, n, bias, y, act, j0, j1, width, Ldw);
        else FusedDense.RunInt8(x, rows, k, I8, Scale, n, bias, y, act, j0, j1, width, Ldw);
    }
}
