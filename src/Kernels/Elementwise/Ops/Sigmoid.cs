// Logistic sigmoid: y = 1 / (1 + e^-x); dx = dy * y * (1 - y).
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = 1 / (1 + exp(-x))</summary>
public readonly struct SigmoidOp : IUnaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float x) => x >= 0 ? 1f / (1f + MathF.Exp(-x)) : MathF.Exp(x) / (1f + MathF.Exp(x));
    public Vector128<float> Invoke(Vector128<float> x) => VectorMath.Sigmoid(x);
    public Vector256<float> Invoke(Vector256<float> x) => VectorMath.Sigmoid(x);
    public Vector512<float> Invoke(Vector512<float> x) => VectorMath.Sigmoid(x);
}

/// <summary>dx = dy * y * (1 - y)</summary>
public readonly struct SigmoidGradOp : IBinaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float dy, float y) => dy * y * (1f - y);
    public Vector128<float> Invoke(Vector128<float> dy, Vector128<float> y) => dy * y * (Vector128.Create(1f) - y);
    public Vector256<float> Invoke(Vector256<float> dy, Vector256<float> y) => dy * y * (Vector256.Create(1f) - y);
    public Vector512<float> Invoke(Vector512<float> dy, Vector512<float> y) => dy * y * (Vector512.Create(1f) - y);
}
