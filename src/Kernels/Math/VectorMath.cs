// Vectorised transcendental functions (exp, log, tanh, sigmoid) for float at every SimdWidth.
// Each is written once, generic over the IVec operator structs, after Cephes' single-precision
// algorithms: Cody-Waite range reduction plus a short minimax polynomial, ~1-2 ulp.
// Special values follow IEEE/MathF: exp(+inf)=+inf, exp(-inf)=0, log(0)=-inf, log(x<0)=NaN,
// NaN in gives NaN out. Other kernels (softmax, activations) call the generic forms directly.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Numerics;

/// <summary>A float -> float function evaluable on any IVec vector type.</summary>
internal interface IUnaryFn
{
    static abstract TV Invoke<TO, TV>(TV x) where TO : struct, IVec<TV> where TV : struct;
}

internal readonly struct ExpFn : IUnaryFn
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TO, TV>(TV x) where TO : struct, IVec<TV> where TV : struct => VectorMath.Exp<TO, TV>(x);
}
internal readonly struct LogFn : IUnaryFn
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TO, TV>(TV x) where TO : struct, IVec<TV> where TV : struct => VectorMath.Log<TO, TV>(x);
}
internal readonly struct TanhFn : IUnaryFn
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TO, TV>(TV x) where TO : struct, IVec<TV> where TV : struct => VectorMath.Tanh<TO, TV>(x);
}
internal readonly struct SigmoidFn : IUnaryFn
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TO, TV>(TV x) where TO : struct, IVec<TV> where TV : struct => VectorMath.Sigmoid<TO, TV>(x);
}

/// <summary>Vector exp, log, tanh and sigmoid on float (Vector128/256/512 and spans), accurate to a few ulp.</summary>
public static unsafe class VectorMath
{
    // ---- generic cores -------------------------------------------------------------------

    /// <summary>e^x. Range reduction x = n ln2 + r, |r| &lt;= ln2/2 with ln2 split in two (Cody-Waite) so n*C1 is exact.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Exp<TO, TV>(TV x) where TO : struct, IVec<TV> where TV : struct
    {
        // Clamp: above 88.8 the result overflows to +inf through the scaling below, under -104 it
        // rounds to 0. MaxNative/MinNative drop NaN, so NaN is restored at the end.
        TV xc = TO.Min(TO.Max(x, TO.Splat(-104f)), TO.Splat(88.8f));
        TV n = TO.Round(TO.Mul(xc, TO.Splat(1.44269504088896341f)));
        TV r = TO.MulAdd(n, TO.Splat(-0.693359375f), xc);
        r = TO.MulAdd(n, TO.Splat(2.12194440e-4f), r);
        TV p = TO.Splat(1.9875691500E-4f);
        p = TO.MulAdd(p, r, TO.Splat(1.3981999507E-3f));
        p = TO.MulAdd(p, r, TO.Splat(8.3334519073E-3f));
        p = TO.MulAdd(p, r, TO.Splat(4.1665795894E-2f));
        p = TO.MulAdd(p, r, TO.Splat(1.6666665459E-1f));
        p = TO.MulAdd(p, r, TO.Splat(5.0000001201E-1f));
        p = TO.MulAdd(p, TO.Mul(r, r), TO.Add(r, TO.Splat(1f)));
        // n lies in [-150, 128]; 2^n is applied as two factors 2^n1 * 2^n2 (each a normal float)
        // so results in the subnormal range and overflow to +inf both come out right.
        TV n1 = TO.Round(TO.Mul(n, TO.Splat(0.5f)));
        TV n2 = TO.Sub(n, n1);
        TV y = TO.Mul(TO.Mul(p, TO.Pow2(n1)), TO.Pow2(n2));
        return TO.Select(TO.IsNaN(x), x, y);
    }

    /// <summary>Natural log. x = m 2^e with m in [sqrt(.5), sqrt(2)); log(m) by a degree-9 polynomial in m-1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Log<TO, TV>(TV x) where TO : struct, IVec<TV> where TV : struct
    {
        // Subnormals: scale by 2^23 first so Frexp sees a normal number.
        TV tiny = TO.Lt(x, TO.Splat(1.17549435e-38f));
        TV xs = TO.Select(tiny, TO.Mul(x, TO.Splat(8388608f)), x);
        TV m = TO.Frexp(xs, out TV e);
        e = TO.Sub(e, TO.And(tiny, TO.Splat(23f)));
        TV lo = TO.Lt(m, TO.Splat(0.707106781186547524f));
        e = TO.Sub(e, TO.And(lo, TO.Splat(1f)));
        m = TO.Sub(TO.Add(m, TO.And(lo, m)), TO.Splat(1f));
        TV z = TO.Mul(m, m);
        TV p = TO.Splat(7.0376836292E-2f);
        p = TO.MulAdd(p, m, TO.Splat(-1.1514610310E-1f));
        p = TO.MulAdd(p, m, TO.Splat(1.1676998740E-1f));
        p = TO.MulAdd(p, m, TO.Splat(-1.2420140846E-1f));
        p = TO.MulAdd(p, m, TO.Splat(1.4249322787E-1f));
        p = TO.MulAdd(p, m, TO.Splat(-1.6668057665E-1f));
        p = TO.MulAdd(p, m, TO.Splat(2.0000714765E-1f));
        p = TO.MulAdd(p, m, TO.Splat(-2.4999993993E-1f));
        p = TO.MulAdd(p, m, TO.Splat(3.3333331174E-1f));
        TV y = TO.Mul(TO.Mul(p, m), z);
        y = TO.MulAdd(e, TO.Splat(-2.12194440e-4f), y);
        y = TO.MulAdd(z, TO.Splat(-0.5f), y);
        y = TO.Add(m, y);
        y = TO.MulAdd(e, TO.Splat(0.693359375f), y);
        // Special values, in increasing priority.
        y = TO.Select(TO.Eq(x, TO.Splat(float.PositiveInfinity)), x, y);
        y = TO.Select(TO.Eq(x, TO.Splat(0f)), TO.Splat(float.NegativeInfinity), y);
        y = TO.Select(TO.Lt(x, TO.Splat(0f)), TO.Splat(float.NaN), y);
        return TO.Select(TO.IsNaN(x), x, y);
    }

    /// <summary>tanh: odd polynomial for |x| &lt; 0.625 (keeps relative accuracy near 0), else 1 - 2/(e^{2|x|}+1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Tanh<TO, TV>(TV x) where TO : struct, IVec<TV> where TV : struct
    {
        TV ax = TO.Abs(x);
        TV z = TO.Mul(x, x);
        TV p = TO.Splat(-5.70498872745E-3f);
        p = TO.MulAdd(p, z, TO.Splat(2.06390887954E-2f));
        p = TO.MulAdd(p, z, TO.Splat(-5.37397155531E-2f));
        p = TO.MulAdd(p, z, TO.Splat(1.33314422036E-1f));
        p = TO.MulAdd(p, z, TO.Splat(-3.33332819422E-1f));
        TV small = TO.MulAdd(TO.Mul(p, z), x, x);
        TV e = Exp<TO, TV>(TO.Add(ax, ax));
        TV t = TO.Sub(TO.Splat(1f), TO.Div(TO.Splat(2f), TO.Add(e, TO.Splat(1f))));
        TV large = TO.Select(TO.Lt(x, TO.Splat(0f)), TO.Sub(TO.Splat(0f), t), t);
        return TO.Select(TO.Lt(ax, TO.Splat(0.625f)), small, large);
    }

    /// <summary>1/(1+e^-x), evaluated through e = e^{-|x|} so neither tail loses relative accuracy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Sigmoid<TO, TV>(TV x) where TO : struct, IVec<TV> where TV : struct
    {
        TV e = Exp<TO, TV>(TO.Sub(TO.Splat(0f), TO.Abs(x)));
        TV r = TO.Div(TO.Splat(1f), TO.Add(TO.Splat(1f), e));
        return TO.Select(TO.Lt(x, TO.Splat(0f)), TO.Mul(e, r), r);
    }

    // ---- public vector overloads ---------------------------------------------------------

    /// <summary>e^x per lane.</summary>
    public static Vector128<float> Exp(Vector128<float> x) => Exp<V128Ops, Vector128<float>>(x);
    /// <summary>e^x per lane.</summary>
    public static Vector256<float> Exp(Vector256<float> x) => Exp<V256Ops, Vector256<float>>(x);
    /// <summary>e^x per lane.</summary>
    public static Vector512<float> Exp(Vector512<float> x) => Exp<V512Ops, Vector512<float>>(x);
    /// <summary>ln x per lane (x&lt;0: NaN, 0: -inf).</summary>
    public static Vector128<float> Log(Vector128<float> x) => Log<V128Ops, Vector128<float>>(x);
    /// <summary>ln x per lane (x&lt;0: NaN, 0: -inf).</summary>
    public static Vector256<float> Log(Vector256<float> x) => Log<V256Ops, Vector256<float>>(x);
    /// <summary>ln x per lane (x&lt;0: NaN, 0: -inf).</summary>
    public static Vector512<float> Log(Vector512<float> x) => Log<V512Ops, Vector512<float>>(x);
    /// <summary>tanh x per lane.</summary>
    public static Vector128<float> Tanh(Vector128<float> x) => Tanh<V128Ops, Vector128<float>>(x);
    /// <summary>tanh x per lane.</summary>
    public static Vector256<float> Tanh(Vector256<float> x) => Tanh<V256Ops, Vector256<float>>(x);
    /// <summary>tanh x per lane.</summary>
    public static Vector512<float> Tanh(Vector512<float> x) => Tanh<V512Ops, Vector512<float>>(x);
    /// <summary>1/(1+e^-x) per lane.</summary>
    public static Vector128<float> Sigmoid(Vector128<float> x) => Sigmoid<V128Ops, Vector128<float>>(x);
    /// <summary>1/(1+e^-x) per lane.</summary>
    public static Vector256<float> Sigmoid(Vector256<float> x) => Sigmoid<V256Ops, Vector256<float>>(x);
    /// <summary>1/(1+e^-x) per lane.</summary>
    public static Vector512<float> Sigmoid(Vector512<float> x) => Sigmoid<V512Ops, Vector512<float>>(x);

    // ---- span forms: y[i] = f(x[i]); x and y may be the same span ------------------------

    /// <summary>y[i] = e^x[i] (y.Length &gt;= x.Length; x == y allowed), at <see cref="Simd.Best"/>.</summary>
    public static void Exp(ReadOnlySpan<float> x, Span<float> y) => Map<ExpFn>(x, y, Simd.Best);
    /// <summary>y[i] = e^x[i] on the given path.</summary>
    public static void Exp(ReadOnlySpan<float> x, Span<float> y, SimdWidth width) => Map<ExpFn>(x, y, width);
    /// <summary>y[i] = ln x[i], at <see cref="Simd.Best"/>.</summary>
    public static void Log(ReadOnlySpan<float> x, Span<float> y) => Map<LogFn>(x, y, Simd.Best);
    /// <summary>y[i] = ln x[i] on the given path.</summary>
    public static void Log(ReadOnlySpan<float> x, Span<float> y, SimdWidth width) => Map<LogFn>(x, y, width);
    /// <summary>y[i] = tanh x[i], at <see cref="Simd.Best"/>.</summary>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y) => Map<TanhFn>(x, y, Simd.Best);
    /// <summary>y[i] = tanh x[i] on the given path.</summary>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y, SimdWidth width) => Map<TanhFn>(x, y, width);
    /// <summary>y[i] = 1/(1+e^-x[i]), at <see cref="Simd.Best"/>.</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y) => Map<SigmoidFn>(x, y, Simd.Best);
    /// <summary>y[i] = 1/(1+e^-x[i]) on the given path.</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y, SimdWidth width) => Map<SigmoidFn>(x, y, width);

    internal static void Map<TF>(ReadOnlySpan<float> x, Span<float> y, SimdWidth width) where TF : IUnaryFn
    {
        if (y.Length < x.Length) throw new ArgumentException($"y has {y.Length} elements, expected at least {x.Length}.", nameof(y));
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
        fixed (float* px = x) fixed (float* py = y)
        {
            switch (width)
            {
                case SimdWidth.V512: Map<TF, V512Ops, Vector512<float>>(px, py, x.Length); break;
                case SimdWidth.V256: Map<TF, V256Ops, Vector256<float>>(px, py, x.Length); break;
                case SimdWidth.V128: Map<TF, V128Ops, Vector128<float>>(px, py, x.Length); break;
                default: Map<TF, ScalarOps, float>(px, py, x.Length); break;
            }
        }
    }

    static void Map<TF, TO, TV>(float* x, float* y, int n) where TF : IUnaryFn where TO : struct, IVec<TV> where TV : struct
    {
        int i = 0;
        for (; i <= n - TO.Count; i += TO.Count) TO.Store(y + i, TF.Invoke<TO, TV>(TO.Load(x + i)));
        // Scalar tail (not an overlapping last vector: x == y in place would be read twice).
        for (; i < n; i++) y[i] = TF.Invoke<ScalarOps, float>(x[i]);
    }
}
