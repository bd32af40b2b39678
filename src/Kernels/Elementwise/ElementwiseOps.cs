// Operator-struct interfaces for elementwise kernels (the TensorPrimitives pattern):
// one readonly struct per op gives the scalar and each vector-width form, and the shared
// loops in ElementwiseLoops handle widths and tails once for every op.
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = f(x), elementwise.</summary>
public interface IUnaryOp
{
    /// <summary>False when the op has no vector form yet: the loops then run the scalar form on every width.</summary>
    static abstract bool Vectorizable { get; }
    float Invoke(float x);
    Vector128<float> Invoke(Vector128<float> x);
    Vector256<float> Invoke(Vector256<float> x);
    Vector512<float> Invoke(Vector512<float> x);
}

/// <summary>y = f(a, b), elementwise.</summary>
public interface IBinaryOp
{
    static abstract bool Vectorizable { get; }
    float Invoke(float a, float b);
    Vector128<float> Invoke(Vector128<float> a, Vector128<float> b);
    Vector256<float> Invoke(Vector256<float> a, Vector256<float> b);
    Vector512<float> Invoke(Vector512<float> a, Vector512<float> b);
}

/// <summary>y = f(a, b, c), elementwise (used by fused backward rules and select).</summary>
public interface ITernaryOp
{
    static abstract bool Vectorizable { get; }
    float Invoke(float a, float b, float c);
    Vector128<float> Invoke(Vector128<float> a, Vector128<float> b, Vector128<float> c);
    Vector256<float> Invoke(Vector256<float> a, Vector256<float> b, Vector256<float> c);
    Vector512<float> Invoke(Vector512<float> a, Vector512<float> b, Vector512<float> c);
}
