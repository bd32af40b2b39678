// Exponential: y = e^x; dx = dy * y (MulOp).
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = exp(x)</summary>
public readonly struct ExpOp : IUnaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float x) => MathF.Exp(x);
    public Vector128<float> Invoke(Vector128<float> x) => VectorMath.Exp(x);
    public Vector256<float> Invoke(Vector256<float> x) => VectorMath.Exp(x);
    public Vector512<float> Invoke(Vector512<float> x) => VectorMath.Exp(x);
}
