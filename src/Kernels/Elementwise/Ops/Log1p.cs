// y = ln(1 + x), accurate near 0; dx = dy / (1 + x).
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = ln(1 + x)</summary>
public readonly struct Log1pOp : IUnaryOp
{
    public static bool Vectorizable => false;
    public float Invoke(float x) => (float)Math.Log(1.0 + x) /* 1 + x is exact in double for any float x near 0 */;
    public Vector128<float> Invoke(Vector128<float> x) => throw new NotSupportedException();
    public Vector256<float> Invoke(Vector256<float> x) => throw new NotSupportedException();
    public Vector512<float> Invoke(Vector512<float> x) => throw new NotSupportedException();
}

/// <summary>dx = dy / (1 + x)</summary>
public readonly struct Log1pGradOp : IBinaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float dy, float x) => dy / (1f + x);
    public Vector128<float> Invoke(Vector128<float> dy, Vector128<float> x) => dy / (x + Vector128.Create(1f));
    public Vector256<float> Invoke(Vector256<float> dy, Vector256<float> x) => dy / (x + Vector256.Create(1f));
    public Vector512<float> Invoke(Vector512<float> dy, Vector512<float> x) => dy / (x + Vector512.Create(1f));
}
