// Elementwise maximum and minimum of two tensors.
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = max(a, b)</summary>
public readonly struct MaxOp : IBinaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float a, float b) => Math.Max(a, b);
    public Vector128<float> Invoke(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);
    public Vector256<float> Invoke(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    public Vector512<float> Invoke(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
}

/// <summary>y = min(a, b)</summary>
public readonly struct MinOp : IBinaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float a, float b) => Math.Min(a, b);
    public Vector128<float> Invoke(Vector128<float> a, Vector128<float> b) => Vector128.Min(a, b);
    public Vector256<float> Invoke(Vector256<float> a, Vector256<float> b) => Vector256.Min(a, b);
    public Vector512<float> Invoke(Vector512<float> a, Vector512<float> b) => Vector512.Min(a, b);
}
