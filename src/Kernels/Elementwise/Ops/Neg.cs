// Negation: y = -x; dx = -dy (NegOp again).
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = -x</summary>
public readonly struct NegOp : IUnaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float x) => -x;
    public Vector128<float> Invoke(Vector128<float> x) => -x;
    public Vector256<float> Invoke(Vector256<float> x) => -x;
    public Vector512<float> Invoke(Vector512<float> x) => -x;
}
