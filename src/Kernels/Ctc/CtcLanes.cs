// Double-precision lane operators for the CTC kernel's row loops, one struct per SimdWidth
// (a scalar "vector" of one double, Vector128/256/512<double>), so the recursion is written once
// (CtcKernels.ForwardRow / BackwardRow) and the JIT specialises it per width. The float IVec
// family (Math/VecOps.cs) cannot serve here: the CTC recursion needs double's exponent range.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Ctc;

/// <summary>The few double operations the CTC row loops use, on a vector type TV of <see cref="Count"/> lanes.</summary>
internal unsafe interface ICtcLanes<TV> where TV : struct
{
    static abstract int Count { get; }
    static abstract TV Zero { get; }
    static abstract TV Splat(double v);
    static abstract TV Load(double* p);
    static abstract void Store(double* p, TV v);
    static abstract TV Add(TV a, TV b);
    static abstract TV Mul(TV a, TV b);
    /// <summary>a * b + c.</summary>
    static abstract TV MulAdd(TV a, TV b, TV c);
    /// <summary>Lanes of v below thr become 0 (NaN lanes are kept, so NaN still reaches the checks).</summary>
    static abstract TV FlushBelow(TV v, TV thr);
    static abstract double Sum(TV v);
}

internal unsafe readonly struct CtcLanes1 : ICtcLanes<double>
{
    public static int Count => 1;
    public static double Zero => 0.0;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Splat(double v) => v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Load(double* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(double* p, double v) => *p = v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Add(double a, double b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Mul(double a, double b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double MulAdd(double a, double b, double c) => a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double FlushBelow(double v, double thr) => v < thr ? 0.0 : v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(double v) => v;
}

internal unsafe readonly struct CtcLanes128 : ICtcLanes<Vector128<double>>
{
    public static int Count => Vector128<double>.Count;
    public static Vector128<double> Zero => Vector128<double>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Splat(double v) => Vector128.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Load(double* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(double* p, Vector128<double> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Add(Vector128<double> a, Vector128<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Mul(Vector128<double> a, Vector128<double> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> MulAdd(Vector128<double> a, Vector128<double> b, Vector128<double> c) => Vector128.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> FlushBelow(Vector128<double> v, Vector128<double> thr) => Vector128.AndNot(v, Vector128.LessThan(v, thr));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Vector128<double> v) => Vector128.Sum(v);
}

internal unsafe readonly struct CtcLanes256 : ICtcLanes<Vector256<double>>
{
    public static int Count => Vector256<double>.Count;
    public static Vector256<double> Zero => Vector256<double>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Splat(double v) => Vector256.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Load(double* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(double* p, Vector256<double> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Add(Vector256<double> a, Vector256<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Mul(Vector256<double> a, Vector256<double> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> MulAdd(Vector256<double> a, Vector256<double> b, Vector256<double> c) => Vector256.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> FlushBelow(Vector256<double> v, Vector256<double> thr) => Vector256.AndNot(v, Vector256.LessThan(v, thr));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Vector256<double> v) => Vector256.Sum(v);
}

internal unsafe readonly struct CtcLanes512 : ICtcLanes<Vector512<double>>
{
    public static int Count => Vector512<double>.Count;
    public static Vector512<double> Zero => Vector512<double>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Splat(double v) => Vector512.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Load(double* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(double* p, Vector512<double> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Add(Vector512<double> a, Vector512<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Mul(Vector512<double> a, Vector512<double> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> MulAdd(Vector512<double> a, Vector512<double> b, Vector512<double> c) => Vector512.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> FlushBelow(Vector512<double> v, Vector512<double> thr) => Vector512.AndNot(v, Vector512.LessThan(v, thr));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Vector512<double> v) => Vector512.Sum(v);
}
