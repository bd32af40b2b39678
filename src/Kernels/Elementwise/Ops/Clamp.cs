// Clamp to [min, max] (relu = [0, inf), relu clipped at c = [0, c], relu6 = [0, 6]); the gradient passes where lo < x < hi.
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>y = min(max(x, lo), hi)</summary>
public readonly struct ClampOp(float lo, float hi) : IUnaryOp
{
    /// <summary>The bounds (for the CUDA kernel's parameters).</summary>
    public float Lo => lo;
    /// <summary>Upper bound.</summary>
    public float Hi => hi;
    public static bool Vectorizable => true;
    public float Invoke(float x) => Math.Min(Math.Max(x, lo), hi);
    public Vector128<float> Invoke(Vector128<float> x) => Vector128.Min(Vector128.Max(x, Vector128.Create(lo)), Vector128.Create(hi));
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.Min(Vector256.Max(x, Vector256.Create(lo)), Vector256.Create(hi));
    public Vector512<float> Invoke(Vector512<float> x) => Vector512.Min(Vector512.Max(x, Vector512.Create(lo)), Vector512.Create(hi));
}

/// <summary>dx = dy where lo &lt; x &lt; hi (strict, like relu's x &gt; 0), else 0</summary>
public readonly struct ClampGradOp(float lo, float hi) : IBinaryOp
{
    /// <summary>The bounds (for the CUDA kernel's parameters).</summary>
    public float Lo => lo;
    /// <summary>Upper bound.</summary>
    public float Hi => hi;
    public static bool Vectorizable => true;
    public float Invoke(float dy, float x) => x > lo && x < hi ? dy : 0f;
    public Vector128<float> Invoke(Vector128<float> dy, Vector128<float> x) => Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128.Create(lo)) & Vector128.LessThan(x, Vector128.Create(hi)), dy, Vector128<float>.Zero);
    public Vector256<float> Invoke(Vector256<float> dy, Vector256<float> x) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(lo)) & Vector256.LessThan(x, Vector256.Create(hi)), dy, Vector256<float>.Zero);
    public Vector512<float> Invoke(Vector512<float> dy, Vector512<float> x) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(lo)) & Vector512.LessThan(x, Vector512.Create(hi)), dy, Vector512<float>.Zero);
}
