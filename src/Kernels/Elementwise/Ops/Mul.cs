// Multiplication: y = a * b; d/da = b, d/db = a (both MulOp again).
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = a * b</summary>
public readonly struct MulOp : IBinaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float a, float b) => a * b;
    public Vector128<float> Invoke(Vector128<float> a, Vector128<float> b) => a * b;
    public Vector256<float> Invoke(Vector256<float> a, Vector256<float> b) => a * b;
    public Vector512<float> Invoke(Vector512<float> a, Vector512<float> b) => a * b;
}
