// Division: y = a / b; d/da = dy / b (DivOp), d/db = -dy * a / b^2 (DivRhsGradOp).
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = a / b</summary>
public readonly struct DivOp : IBinaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float a, float b) => a / b;
    public Vector128<float> Invoke(Vector128<float> a, Vector128<float> b) => a / b;
    public Vector256<float> Invoke(Vector256<float> a, Vector256<float> b) => a / b;
    public Vector512<float> Invoke(Vector512<float> a, Vector512<float> b) => a / b;
}

/// <summary>db = -dy * a / (b * b)</summary>
public readonly struct DivRhsGradOp : ITernaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float dy, float a, float b) => -(dy * a) / (b * b);
    public Vector128<float> Invoke(Vector128<float> dy, Vector128<float> a, Vector128<float> b) => -(dy * a) / (b * b);
    public Vector256<float> Invoke(Vector256<float> dy, Vector256<float> a, Vector256<float> b) => -(dy * a) / (b * b);
    public Vector512<float> Invoke(Vector512<float> dy, Vector512<float> a, Vector512<float> b) => -(dy * a) / (b * b);
}
