// Operator structs that let one generic kernel body run at every SimdWidth: ScalarOps
// Namespace is Numerics, not Math, so that code under Cochlea.Kernels still sees System.Math.
// (a "vector" of one float), V128Ops, V256Ops, V512Ops. Kernels are written once as
// Impl<TOps, TV>(...) where TOps : struct, IVec<TV>; the JIT specialises each struct
// instantiation and inlines the static calls, so the abstraction costs nothing and the
// scalar production path is the same code as the SIMD ones (no copy-paste twins).
// MultiplyAddEstimate is used rather than FusedMultiplyAdd because the latter falls back
// to a slow software emulation when the CPU has no FMA (e.g. DOTNET_EnableAVX=0).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Cochlea.Kernels.Numerics;

/// <summary>Elementwise float operations on a vector type TV (lane count <see cref="Count"/>).</summary>
internal unsafe interface IVec<TV> where TV : struct
{
    static abstract int Count { get; }
    static abstract TV Splat(float v);
    static abstract TV Load(float* p);
    static abstract void Store(float* p, TV v);
    static abstract TV Add(TV a, TV b);
    static abstract TV Sub(TV a, TV b);
    static abstract TV Mul(TV a, TV b);
    static abstract TV Div(TV a, TV b);
    static abstract TV Min(TV a, TV b);
    static abstract TV Max(TV a, TV b);
    /// <summary>a * b + c (fused when the hardware has FMA).</summary>
    static abstract TV MulAdd(TV a, TV b, TV c);
    /// <summary>c - a * b (fused when the hardware has FMA: vfnmadd, fmls).</summary>
    static abstract TV NegMulAdd(TV a, TV b, TV c);
    /// <summary>Round to nearest, ties to even.</summary>
    static abstract TV Round(TV a);
    static abstract TV Abs(TV a);
    /// <summary>Lane mask (all bits set) where a &lt; b.</summary>
    static abstract TV Lt(TV a, TV b);
    static abstract TV Gt(TV a, TV b);
    static abstract TV Eq(TV a, TV b);
    static abstract TV IsNaN(TV a);
    static abstract TV Or(TV a, TV b);
    static abstract TV And(TV a, TV b);
    /// <summary>mask ? a : b per lane.</summary>
    static abstract TV Select(TV mask, TV a, TV b);
    /// <summary>2^n for integral n in [-126, 127] (built from the exponent bits).</summary>
    static abstract TV Pow2(TV n);
    /// <summary>Splits normal positive x into m in [0.5, 1) and integral e with x = m * 2^e.</summary>
    static abstract TV Frexp(TV x, out TV e);
    static abstract float SumAcross(TV v);
    static abstract float MaxAcross(TV v);
    /// <summary>Splits the 2*Count floats (a, b) into their even- and odd-indexed elements (stride-2 deinterleave).</summary>
    static abstract void Unzip(TV a, TV b, out TV even, out TV odd);
    /// <summary>Inverse of <see cref="Unzip"/>: interleaves even and odd into (lo, hi) = e0 o0 e1 o1 ...</summary>
    static abstract void Zip(TV even, TV odd, out TV lo, out TV hi);
}

internal unsafe readonly struct ScalarOps : IVec<float>
{
    public static int Count => 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Splat(float v) => v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Load(float* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, float v) => *p = v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Add(float a, float b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sub(float a, float b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Mul(float a, float b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Div(float a, float b) => a / b;
    // Vector Min/Max semantics (NaN handling aside, which callers mask explicitly).
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Min(float a, float b) => a < b ? a : b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Max(float a, float b) => a > b ? a : b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MulAdd(float a, float b, float c) => a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float NegMulAdd(float a, float b, float c) => c - a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Round(float a) => MathF.Round(a, MidpointRounding.ToEven);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Abs(float a) => MathF.Abs(a);
    static float Mask(bool b) => b ? BitConverter.Int32BitsToSingle(-1) : 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Lt(float a, float b) => Mask(a < b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Gt(float a, float b) => Mask(a > b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Eq(float a, float b) => Mask(a == b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float IsNaN(float a) => Mask(float.IsNaN(a));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Or(float a, float b) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a) | BitConverter.SingleToInt32Bits(b));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float And(float a, float b) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a) & BitConverter.SingleToInt32Bits(b));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Select(float m, float a, float b) => BitConverter.SingleToInt32Bits(m) != 0 ? a : b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Pow2(float n) => BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Frexp(float x, out float e)
    {
        int bits = BitConverter.SingleToInt32Bits(x);
        e = ((bits >> 23) & 0xff) - 126;
        return BitConverter.Int32BitsToSingle((bits & unchecked((int)0x807fffff)) | 0x3f000000);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float SumAcross(float v) => v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxAcross(float v) => v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Unzip(float a, float b, out float even, out float odd) { even = a; odd = b; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Zip(float even, float odd, out float lo, out float hi) { lo = even; hi = odd; }
}

internal unsafe readonly struct V128Ops : IVec<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Splat(float v) => Vector128.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector128<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sub(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Mul(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Div(Vector128<float> a, Vector128<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> NegMulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c)
        => Fma.IsSupported ? Fma.MultiplyAddNegated(a, b, c) : AdvSimd.IsSupported ? AdvSimd.FusedMultiplySubtract(c, a, b) : c - a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Round(Vector128<float> a) => Vector128.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Abs(Vector128<float> a) => Vector128.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Lt(Vector128<float> a, Vector128<float> b) => Vector128.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Gt(Vector128<float> a, Vector128<float> b) => Vector128.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Eq(Vector128<float> a, Vector128<float> b) => Vector128.Equals(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> IsNaN(Vector128<float> a) => ~Vector128.Equals(a, a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Or(Vector128<float> a, Vector128<float> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> And(Vector128<float> a, Vector128<float> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Select(Vector128<float> m, Vector128<float> a, Vector128<float> b) => Vector128.ConditionalSelect(m, a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Pow2(Vector128<float> n) => ((Vector128.ConvertToInt32(n) + Vector128.Create(127)) << 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Frexp(Vector128<float> x, out Vector128<float> e)
    {
        var bits = x.AsInt32();
        e = Vector128.ConvertToSingle(((bits >> 23) & Vector128.Create(0xff)) - Vector128.Create(126));
        return ((bits & Vector128.Create(unchecked((int)0x807fffff))) | Vector128.Create(0x3f000000)).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float SumAcross(Vector128<float> v) => Vector128.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector128<float> v)
    {
        float m = v[0];
        for (int i = 1; i < Vector128<float>.Count; i++) m = MathF.Max(m, v[i]);
        return m;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Unzip(Vector128<float> a, Vector128<float> b, out Vector128<float> even, out Vector128<float> odd)
    {
        if (Sse.IsSupported) { even = Sse.Shuffle(a, b, 0b10_00_10_00); odd = Sse.Shuffle(a, b, 0b11_01_11_01); }
        else if (AdvSimd.Arm64.IsSupported) { even = AdvSimd.Arm64.UnzipEven(a, b); odd = AdvSimd.Arm64.UnzipOdd(a, b); }
        else { even = Vector128.Create(a[0], a[2], b[0], b[2]); odd = Vector128.Create(a[1], a[3], b[1], b[3]); }
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Zip(Vector128<float> e, Vector128<float> o, out Vector128<float> lo, out Vector128<float> hi)
    {
        if (Sse.IsSupported) { lo = Sse.UnpackLow(e, o); hi = Sse.UnpackHigh(e, o); }
        else if (AdvSimd.Arm64.IsSupported) { lo = AdvSimd.Arm64.ZipLow(e, o); hi = AdvSimd.Arm64.ZipHigh(e, o); }
        else { lo = Vector128.Create(e[0], o[0], e[1], o[1]); hi = Vector128.Create(e[2], o[2], e[3], o[3]); }
    }
}

internal unsafe readonly struct V256Ops : IVec<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float v) => Vector256.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector256<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Div(Vector256<float> a, Vector256<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> NegMulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Fma.IsSupported ? Fma.MultiplyAddNegated(a, b, c) : c - a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Round(Vector256<float> a) => Vector256.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Abs(Vector256<float> a) => Vector256.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Lt(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Gt(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Eq(Vector256<float> a, Vector256<float> b) => Vector256.Equals(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> IsNaN(Vector256<float> a) => ~Vector256.Equals(a, a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Or(Vector256<float> a, Vector256<float> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> And(Vector256<float> a, Vector256<float> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Select(Vector256<float> m, Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(m, a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Pow2(Vector256<float> n) => ((Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Frexp(Vector256<float> x, out Vector256<float> e)
    {
        var bits = x.AsInt32();
        e = Vector256.ConvertToSingle(((bits >> 23) & Vector256.Create(0xff)) - Vector256.Create(126));
        return ((bits & Vector256.Create(unchecked((int)0x807fffff))) | Vector256.Create(0x3f000000)).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float SumAcross(Vector256<float> v) => Vector128.Sum(v.GetLower() + v.GetUpper());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxAcross(Vector256<float> v) => V128Ops.MaxAcross(Vector128.MaxNative(v.GetLower(), v.GetUpper()));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Unzip(Vector256<float> a, Vector256<float> b, out Vector256<float> even, out Vector256<float> odd)
    {
        if (Avx2.IsSupported)
        {
            // In-lane shuffle gives [a0 a2 b0 b2 | a4 a6 b4 b6]; the 64-bit permute (0,2,1,3) puts the a's first.
            even = Avx2.Permute4x64(Avx.Shuffle(a, b, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle();
            odd = Avx2.Permute4x64(Avx.Shuffle(a, b, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).AsSingle();
        }
        else
        {
            V128Ops.Unzip(a.GetLower(), a.GetUpper(), out var ea, out var oa);
            V128Ops.Unzip(b.GetLower(), b.GetUpper(), out var eb, out var ob);
            even = Vector256.Create(ea, eb);
            odd = Vector256.Create(oa, ob);
        }
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Zip(Vector256<float> e, Vector256<float> o, out Vector256<float> lo, out Vector256<float> hi)
    {
        if (Avx.IsSupported)
        {
            // In-lane unpacks give [e0 o0 e1 o1 | e4 o4 e5 o5] and [e2 o2 e3 o3 | e6 o6 e7 o7]; swap the middle halves.
            var l = Avx.UnpackLow(e, o);
            var h = Avx.UnpackHigh(e, o);
            lo = Avx.Permute2x128(l, h, 0x20);
            hi = Avx.Permute2x128(l, h, 0x31);
        }
        else
        {
            V128Ops.Zip(e.GetLower(), o.GetLower(), out var a, out var b);
            V128Ops.Zip(e.GetUpper(), o.GetUpper(), out var c, out var d);
            lo = Vector256.Create(a, b);
            hi = Vector256.Create(c, d);
        }
    }
}

internal unsafe readonly struct V512Ops : IVec<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float v) => Vector512.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector512<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Div(Vector512<float> a, Vector512<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MulAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> NegMulAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Avx512F.IsSupported ? Avx512F.FusedMultiplyAddNegated(a, b, c) : c - a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Round(Vector512<float> a) => Vector512.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Abs(Vector512<float> a) => Vector512.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Lt(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Gt(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Eq(Vector512<float> a, Vector512<float> b) => Vector512.Equals(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> IsNaN(Vector512<float> a) => ~Vector512.Equals(a, a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Or(Vector512<float> a, Vector512<float> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> And(Vector512<float> a, Vector512<float> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Select(Vector512<float> m, Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(m, a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Pow2(Vector512<float> n) => ((Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Frexp(Vector512<float> x, out Vector512<float> e)
    {
        var bits = x.AsInt32();
        e = Vector512.ConvertToSingle(((bits >> 23) & Vector512.Create(0xff)) - Vector512.Create(126));
        return ((bits & Vector512.Create(unchecked((int)0x807fffff))) | Vector512.Create(0x3f000000)).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float SumAcross(Vector512<float> v) => V256Ops.SumAcross(v.GetLower() + v.GetUpper());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxAcross(Vector512<float> v) => V256Ops.MaxAcross(Vector256.MaxNative(v.GetLower(), v.GetUpper()));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Unzip(Vector512<float> a, Vector512<float> b, out Vector512<float> even, out Vector512<float> odd)
    {
        if (Avx512F.IsSupported)
        {
            // Two-source permute (vpermt2ps): index i < 16 picks a[i], i >= 16 picks b[i-16].
            var ie = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            even = Avx512F.PermuteVar16x32x2(a, ie, b);
            odd = Avx512F.PermuteVar16x32x2(a, ie + Vector512<int>.One, b);
        }
        else
        {
            V256Ops.Unzip(a.GetLower(), a.GetUpper(), out var ea, out var oa);
            V256Ops.Unzip(b.GetLower(), b.GetUpper(), out var eb, out var ob);
            even = Vector512.Create(ea, eb);
            odd = Vector512.Create(oa, ob);
        }
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Zip(Vector512<float> e, Vector512<float> o, out Vector512<float> lo, out Vector512<float> hi)
    {
        if (Avx512F.IsSupported)
        {
            var il = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            lo = Avx512F.PermuteVar16x32x2(e, il, o);
            hi = Avx512F.PermuteVar16x32x2(e, il + Vector512.Create(8), o);
        }
        else
        {
            V256Ops.Zip(e.GetLower(), o.GetLower(), out var a, out var b);
            V256Ops.Zip(e.GetUpper(), o.GetUpper(), out var c, out var d);
            lo = Vector512.Create(a, b);
            hi = Vector512.Create(c, d);
        }
    }
}
