// Absolute value: y = |x|; dx = dy * sign(x) (0 at 0).
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = |x|</summary>
public readonly struct AbsOp : IUnaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float x) => MathF.Abs(x);
    public Vector128<float> Invoke(Vector128<float> x) => Vector128.Abs(x);
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.Abs(x);
    public Vector512<float> Invoke(Vector512<float> x) => Vector512.Abs(x);
}

/// <summary>dx = dy * sign(x)</summary>
public readonly struct AbsGradOp : IBinaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float dy, float x) => x > 0 ? dy : x < 0 ? -dy : 0f;
    public Vector128<float> Invoke(Vector128<float> dy, Vector128<float> x) => Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), dy, Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<float>.Zero), -dy, Vector128<float>.Zero));
    public Vector256<float> Invoke(Vector256<float> dy, Vector256<float> x) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), dy, Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), -dy, Vector256<float>.Zero));
    public Vector512<float> Invoke(Vector512<float> dy, Vector512<float> x) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), dy, Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), -dy, Vector512<float>.Zero));
}
