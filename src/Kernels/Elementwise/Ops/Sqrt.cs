// Square root: y = sqrt(x); dx = dy / (2 y).
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = sqrt(x)</summary>
public readonly struct SqrtOp : IUnaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float x) => MathF.Sqrt(x);
    public Vector128<float> Invoke(Vector128<float> x) => Vector128.Sqrt(x);
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.Sqrt(x);
    public Vector512<float> Invoke(Vector512<float> x) => Vector512.Sqrt(x);
}

/// <summary>dx = 0.5 * dy / y</summary>
public readonly struct SqrtGradOp : IBinaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float dy, float y) => 0.5f * dy / y;
    public Vector128<float> Invoke(Vector128<float> dy, Vector128<float> y) => Vector128.Create(0.5f) * dy / y;
    public Vector256<float> Invoke(Vector256<float> dy, Vector256<float> y) => Vector256.Create(0.5f) * dy / y;
    public Vector512<float> Invoke(Vector512<float> dy, Vector512<float> y) => Vector512.Create(0.5f) * dy / y;
}
