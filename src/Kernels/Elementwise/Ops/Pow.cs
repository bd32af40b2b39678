// Power with a constant exponent: y = x^p; dx = dy * p * x^(p-1).
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = x^p</summary>
public readonly struct PowOp(float p) : IUnaryOp
{
    /// <summary>The exponent p (for the CUDA kernel's parameter).</summary>
    public float P => p;
    public static bool Vectorizable => false;
    public float Invoke(float x) => PowOp.Pow(x, p);
    public Vector128<float> Invoke(Vector128<float> x) => throw new NotSupportedException();
    public Vector256<float> Invoke(Vector256<float> x) => throw new NotSupportedException();
    public Vector512<float> Invoke(Vector512<float> x) => throw new NotSupportedException();
    /// <summary>x^p with exact small integer powers (so negative bases work as torch.pow does).</summary>
    public static float Pow(float x, float p) => p == 2f ? x * x : p == 1f ? x : p == 3f ? x * x * x : MathF.Pow(x, p);
}

/// <summary>dx = dy * p * x^(p-1)</summary>
public readonly struct PowGradOp(float p) : IBinaryOp
{
    /// <summary>The exponent p (for the CUDA kernel's parameter).</summary>
    public float P => p;
    public static bool Vectorizable => false;
    public float Invoke(float dy, float x) => dy * p * PowOp.Pow(x, p - 1f);
    public Vector128<float> Invoke(Vector128<float> dy, Vector128<float> x) => throw new NotSupportedException();
    public Vector256<float> Invoke(Vector256<float> dy, Vector256<float> x) => throw new NotSupportedException();
    public Vector512<float> Invoke(Vector512<float> dy, Vector512<float> x) => throw new NotSupportedException();
}
