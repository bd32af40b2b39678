// Hyperbolic tangent; dx = dy * (1 - y^2).
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = tanh(x)</summary>
public readonly struct TanhOp : IUnaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float x) => MathF.Tanh(x);
    public Vector128<float> Invoke(Vector128<float> x) => VectorMath.Tanh(x);
    public Vector256<float> Invoke(Vector256<float> x) => VectorMath.Tanh(x);
    public Vector512<float> Invoke(Vector512<float> x) => VectorMath.Tanh(x);
}

/// <summary>dx = dy * (1 - y * y)</summary>
public readonly struct TanhGradOp : IBinaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float dy, float y) => dy * (1f - y * y);
    public Vector128<float> Invoke(Vector128<float> dy, Vector128<float> y) => dy * (Vector128.Create(1f) - y * y);
    public Vector256<float> Invoke(Vector256<float> dy, Vector256<float> y) => dy * (Vector256.Create(1f) - y * y);
    public Vector512<float> Invoke(Vector512<float> dy, Vector512<float> y) => dy * (Vector512.Create(1f) - y * y);
}
