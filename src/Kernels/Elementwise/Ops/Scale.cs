// Multiply by a constant: y = s * x; dx = s * dy (ScaleOp again).
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = s * x</summary>
public readonly struct ScaleOp(float s) : IUnaryOp
{
    /// <summary>The factor s (for the CUDA kernel's parameter).</summary>
    public float S => s;
    public static bool Vectorizable => true;
    public float Invoke(float x) => s * x;
    public Vector128<float> Invoke(Vector128<float> x) => x * s;
    public Vector256<float> Invoke(Vector256<float> x) => x * s;
    public Vector512<float> Invoke(Vector512<float> x) => x * s;
}
