// Add a constant: y = x + s; dx = dy.
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = x + s</summary>
public readonly struct AddScalarOp(float s) : IUnaryOp
{
    /// <summary>The added constant s (for the CUDA kernel's parameter).</summary>
    public float S => s;
    public static bool Vectorizable => true;
    public float Invoke(float x) => x + s;
    public Vector128<float> Invoke(Vector128<float> x) => x + Vector128.Create(s);
    public Vector256<float> Invoke(Vector256<float> x) => x + Vector256.Create(s);
    public Vector512<float> Invoke(Vector512<float> x) => x + Vector512.Create(s);
}
