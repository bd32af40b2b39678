// Natural log: y = ln x; dx = dy / x (DivOp).
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = ln(x)</summary>
public readonly struct LogOp : IUnaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float x) => MathF.Log(x);
    public Vector128<float> Invoke(Vector128<float> x) => VectorMath.Log(x);
    public Vector256<float> Invoke(Vector256<float> x) => VectorMath.Log(x);
    public Vector512<float> Invoke(Vector512<float> x) => VectorMath.Log(x);
}
