// Vector "operator structs" the GEMM kernels are generic over: one per SIMD width, plus a scalar
// one. The JIT specialises a generic method per struct type argument and inlines these static
// members, so one source of each loop serves Vector512, Vector256, Vector128 (x86 SSE or ARM64
// NEON) and plain float at no run-time cost.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Cochlea.Kernels.Gemm;

/// <summary>The few vector operations the GEMM loops need, on a vector of <see cref="Lanes"/> floats.</summary>
internal unsafe interface IVecOps<TV> where TV : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Lanes { get; }
    static abstract TV Zero { get; }
    /// <summary>Unaligned load of <see cref="Lanes"/> floats.</summary>
    static abstract TV Load(float* p);
    /// <summary>Unaligned store of <see cref="Lanes"/> floats.</summary>
    static abstract void Store(float* p, TV v);
    /// <summary>All lanes = x.</summary>
    static abstract TV Splat(float x);
    /// <summary>a * b + c, fused where the hardware has FMA (one rounding).</summary>
    static abstract TV MulAdd(TV a, TV b, TV c);
    static abstract TV Mul(TV a, TV b);
    /// <summary>Sum of all lanes, in a fixed order (deterministic).</summary>
    static abstract float Sum(TV v);
}

/// <summary>AVX-512F: 16 floats.</summary>
internal readonly unsafe struct V512Ops : IVecOps<Vector512<float>>
{
    public static int Lanes => 16;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector512<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Avx512F.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> v) => V256Ops.Sum(v.GetLower() + v.GetUpper());
}

/// <summary>AVX2 + FMA3: 8 floats.</summary>
internal readonly unsafe struct V256Ops : IVecOps<Vector256<float>>
{
    public static int Lanes => 8;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector256<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Fma.MultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> v) => V128Ops.Sum(v.GetLower() + v.GetUpper());
}

/// <summary>
/// 128-bit portable path: SSE on x86, NEON on ARM64 (the Raspberry Pi path). FMA is used where the
/// ISA has it (FMA3 on x86, FMLA on ARM64); otherwise multiply then add, because a software-emulated
/// fused multiply-add would be far slower than the rounding difference is worth.
/// </summary>
internal readonly unsafe struct V128Ops : IVecOps<Vector128<float>>
{
    public static int Lanes => 4;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector128<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Splat(float x) => Vector128.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c)
    {
        if (Fma.IsSupported) return Fma.MultiplyAdd(a, b, c);
        if (AdvSimd.IsSupported) return AdvSimd.FusedMultiplyAdd(c, a, b);
        return a * b + c;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Mul(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector128<float> v) => (v.GetElement(0) + v.GetElement(1)) + (v.GetElement(2) + v.GetElement(3));
}

/// <summary>Scalar path: one float per "vector". Same loops, no SIMD; the fallback when nothing is accelerated.</summary>
internal readonly unsafe struct ScalarOps : IVecOps<float>
{
    public static int Lanes => 1;
    public static float Zero => 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Load(float* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, float v) => *p = v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Splat(float x) => x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MulAdd(float a, float b, float c) => a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Mul(float a, float b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(float v) => v;
}
