// Select by a mask: y = c != 0 ? a : b (where); gradients route dy by the same mask.
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = c != 0 ? a : b</summary>
public readonly struct SelectOp : ITernaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float a, float b, float c) => c != 0f ? a : b;
    public Vector128<float> Invoke(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.ConditionalSelect(~Vector128.Equals(c, Vector128<float>.Zero), a, b);
    public Vector256<float> Invoke(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.ConditionalSelect(~Vector256.Equals(c, Vector256<float>.Zero), a, b);
    public Vector512<float> Invoke(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.ConditionalSelect(~Vector512.Equals(c, Vector512<float>.Zero), a, b);
}
