// The shared loops behind every elementwise op: one place handles vector widths, unrolling
// and tails, so an op struct only states its math. x, a, b, c, y are contiguous float
// arrays of n elements; y may alias an input (in-place), never partially overlap it.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Elementwise;

/// <summary>Contiguous elementwise loops over operator structs, at a chosen or the best vector width.</summary>
public static unsafe class ElementwiseLoops
{
    /// <summary>y[i] = op(x[i]) for i &lt; n.</summary>
    public static void Unary<TOp>(TOp op, float* x, float* y, long n) where TOp : struct, IUnaryOp
        => Unary(op, x, y, n, Simd.Best);

    /// <summary>y[i] = op(x[i]) at vector width <paramref name="w"/>.</summary>
    public static void Unary<TOp>(TOp op, float* x, float* y, long n, SimdWidth w) where TOp : struct, IUnaryOp
    {
        long i = 0;
        if (TOp.Vectorizable)
        {
            if (w == SimdWidth.V512)
                for (; i <= n - 16; i += 16) op.Invoke(Vector512.Load(x + i)).Store(y + i);
            else if (w == SimdWidth.V256)
                for (; i <= n - 8; i += 8) op.Invoke(Vector256.Load(x + i)).Store(y + i);
            if (w >= SimdWidth.V128)
                for (; i <= n - 4; i += 4) op.Invoke(Vector128.Load(x + i)).Store(y + i);
        }
        for (; i < n; i++) y[i] = op.Invoke(x[i]);
    }

    /// <summary>y[i] = op(a[i], b[i]).</summary>
    public static void Binary<TOp>(TOp op, float* a, float* b, float* y, long n) where TOp : struct, IBinaryOp
        => Binary(op, a, b, y, n, Simd.Best);

    /// <summary>y[i] = op(a[i], b[i]) at width <paramref name="w"/>.</summary>
    public static void Binary<TOp>(TOp op, float* a, float* b, float* y, long n, SimdWidth w) where TOp : struct, IBinaryOp
    {
        long i = 0;
        if (TOp.Vectorizable)
        {
            if (w == SimdWidth.V512)
                for (; i <= n - 16; i += 16) op.Invoke(Vector512.Load(a + i), Vector512.Load(b + i)).Store(y + i);
            else if (w == SimdWidth.V256)
                for (; i <= n - 8; i += 8) op.Invoke(Vector256.Load(a + i), Vector256.Load(b + i)).Store(y + i);
            if (w >= SimdWidth.V128)
                for (; i <= n - 4; i += 4) op.Invoke(Vector128.Load(a + i), Vector128.Load(b + i)).Store(y + i);
        }
        for (; i < n; i++) y[i] = op.Invoke(a[i], b[i]);
    }

    /// <summary>y[i] = op(a[i], b) with a scalar right operand (broadcast of a size-1 tensor).</summary>
    public static void BinaryScalarRight<TOp>(TOp op, float* a, float b, float* y, long n, SimdWidth w) where TOp : struct, IBinaryOp
    {
        long i = 0;
        if (TOp.Vectorizable)
        {
            if (w == SimdWidth.V512)
            {
                var bv = Vector512.Create(b);
                for (; i <= n - 16; i += 16) op.Invoke(Vector512.Load(a + i), bv).Store(y + i);
            }
            else if (w == SimdWidth.V256)
            {
                var bv = Vector256.Create(b);
                for (; i <= n - 8; i += 8) op.Invoke(Vector256.Load(a + i), bv).Store(y + i);
            }
            if (w >= SimdWidth.V128)
            {
                var bv = Vector128.Create(b);
                for (; i <= n - 4; i += 4) op.Invoke(Vector128.Load(a + i), bv).Store(y + i);
            }
        }
        for (; i < n; i++) y[i] = op.Invoke(a[i], b);
    }

    /// <summary>y[i] = op(a, b[i]) with a scalar left operand.</summary>
    public static void BinaryScalarLeft<TOp>(TOp op, float a, float* b, float* y, long n, SimdWidth w) where TOp : struct, IBinaryOp
    {
        long i = 0;
        if (TOp.Vectorizable)
        {
            if (w == SimdWidth.V512)
            {
                var av = Vector512.Create(a);
                for (; i <= n - 16; i += 16) op.Invoke(av, Vector512.Load(b + i)).Store(y + i);
            }
            else if (w == SimdWidth.V256)
            {
                var av = Vector256.Create(a);
                for (; i <= n - 8; i += 8) op.Invoke(av, Vector256.Load(b + i)).Store(y + i);
            }
            if (w >= SimdWidth.V128)
            {
                var av = Vector128.Create(a);
                for (; i <= n - 4; i += 4) op.Invoke(av, Vector128.Load(b + i)).Store(y + i);
            }
        }
        for (; i < n; i++) y[i] = op.Invoke(a, b[i]);
    }

    /// <summary>y[i] = op(a[i], b[i], c[i]).</summary>
    public static void Ternary<TOp>(TOp op, float* a, float* b, float* c, float* y, long n) where TOp : struct, ITernaryOp
        => Ternary(op, a, b, c, y, n, Simd.Best);

    /// <summary>y[i] = op(a[i], b[i], c[i]) at width <paramref name="w"/>.</summary>
    public static void Ternary<TOp>(TOp op, float* a, float* b, float* c, float* y, long n, SimdWidth w) where TOp : struct, ITernaryOp
    {
        long i = 0;
        if (TOp.Vectorizable)
        {
            if (w == SimdWidth.V512)
                for (; i <= n - 16; i += 16) op.Invoke(Vector512.Load(a + i), Vector512.Load(b + i), Vector512.Load(c + i)).Store(y + i);
            else if (w == SimdWidth.V256)
                for (; i <= n - 8; i += 8) op.Invoke(Vector256.Load(a + i), Vector256.Load(b + i), Vector256.Load(c + i)).Store(y + i);
            if (w >= SimdWidth.V128)
                for (; i <= n - 4; i += 4) op.Invoke(Vector128.Load(a + i), Vector128.Load(b + i), Vector128.Load(c + i)).Store(y + i);
        }
        for (; i < n; i++) y[i] = op.Invoke(a[i], b[i], c[i]);
    }

    /// <summary>Sum of x[0..n) with a fixed association order for a given width (deterministic).</summary>
    public static float Sum(float* x, long n, SimdWidth w)
    {
        long i = 0;
        float s = 0;
        if (w == SimdWidth.V512 && n >= 16)
        {
            var acc = Vector512<float>.Zero;
            for (; i <= n - 16; i += 16) acc += Vector512.Load(x + i);
            s = Vector512.Sum(acc);
        }
        else if (w == SimdWidth.V256 && n >= 8)
        {
            var acc = Vector256<float>.Zero;
            for (; i <= n - 8; i += 8) acc += Vector256.Load(x + i);
            s = Vector256.Sum(acc);
        }
        else if (w >= SimdWidth.V128 && n >= 4)
        {
            var acc = Vector128<float>.Zero;
            for (; i <= n - 4; i += 4) acc += Vector128.Load(x + i);
            s = Vector128.Sum(acc);
        }
        for (; i < n; i++) s += x[i];
        return s;
    }

    /// <summary>Maximum of x[0..n) (NaN propagates); -inf for n == 0.</summary>
    public static float Max(float* x, long n, SimdWidth w)
    {
        float m = float.NegativeInfinity;
        for (long i = 0; i < n; i++)
        {
            float v = x[i];
            if (v > m || float.IsNaN(v)) m = v;
            if (float.IsNaN(m)) return m;
        }
        return m;
    }

}
