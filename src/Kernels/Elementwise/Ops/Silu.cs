// SiLU (swish): y = x * sigmoid(x); dx = dy * s * (1 + x * (1 - s)) with s = sigmoid(x).
// The activation of EfficientNet (torch.nn.SiLU). Vector forms reuse VectorMath.Sigmoid.
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = x / (1 + exp(-x))</summary>
public readonly struct SiluOp : IUnaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float x) => x * new SigmoidOp().Invoke(x);
    public Vector128<float> Invoke(Vector128<float> x) => x * VectorMath.Sigmoid(x);
    public Vector256<float> Invoke(Vector256<float> x) => x * VectorMath.Sigmoid(x);
    public Vector512<float> Invoke(Vector512<float> x) => x * VectorMath.Sigmoid(x);
}

/// <summary>dx = dy * s * (1 + x * (1 - s)), s = sigmoid(x) (computed from the input x).</summary>
public readonly struct SiluGradOp : IBinaryOp
{
    public static bool Vectorizable => true;
    public float Invoke(float dy, float x)
    {
        float s = new SigmoidOp().Invoke(x);
        return dy * s * (1f + x * (1f - s));
    }
    public Vector128<float> Invoke(Vector128<float> dy, Vector128<float> x)
    {
        var s = VectorMath.Sigmoid(x);
        return dy * s * (Vector128.Create(1f) + x * (Vector128.Create(1f) - s));
    }
    public Vector256<float> Invoke(Vector256<float> dy, Vector256<float> x)
    {
        var s = VectorMath.Sigmoid(x);
        return dy * s * (Vector256.Create(1f) + x * (Vector256.Create(1f) - s));
    }
    public Vector512<float> Invoke(Vector512<float> dy, Vector512<float> x)
    {
        var s = VectorMath.Sigmoid(x);
        return dy * s * (Vector512.Create(1f) + x * (Vector512.Create(1f) - s));
    }
}
