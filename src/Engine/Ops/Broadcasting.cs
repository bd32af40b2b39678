// Broadcasting rules (NumPy/PyTorch): shapes align on the right; a size-1 or missing
// dimension stretches. The forward loops read broadcast operands with stride 0; backward
// sums gradients back to each operand's shape (SumTo).
using Cochlea.Kernels;
using Cochlea.Kernels.Elementwise;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>The broadcast shape of <paramref name="a"/> and <paramref name="b"/>, or an error naming both.</summary>
    public static int[] BroadcastShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b, string op = "broadcast")
    {
        int r = Math.Max(a.Length, b.Length);
        var s = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            int db = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Tensor.FormatShape(a)} and {Tensor.FormatShape(b)} cannot be broadcast (dimension {i}: {da} vs {db}).");
            s[i] = da == 1 ? db : da;
        }
        return s;
    }

    /// <summary>Strides that read <paramref name="t"/> as if expanded to <paramref name="shape"/> (0 on stretched dims).</summary>
    internal static long[] BroadcastStrides(Tensor t, ReadOnlySpan<int> shape)
    {
        var st = new long[shape.Length];
        int lead = shape.Length - t.Rank;
        for (int i = 0; i < shape.Length; i++)
        {
            int src = i - lead;
            st[i] = src < 0 || t.Shape[src] == 1 ? 0 : t.Strides[src];
        }
        return st;
    }

    /// <summary>y = op(a, b) with broadcasting; not recorded (callers record).</summary>
    internal static Tensor BinaryRaw<TOp>(TOp op, Tensor a, Tensor b, string name) where TOp : struct, IBinaryOp
    {
        RequireFloat(a, name); RequireFloat(b, name);
        if (!Cuda.CudaLaunch.CommonDevice(name, a, b).IsCpu) return Cuda.CudaElementwise.Binary(op, a, b, name);
        var shape = BroadcastShape(a.Shape, b.Shape, name);
        var y = Tensor.EmptyOwning(shape, DType.Float32, Device.Cpu);   // shape: a fresh array
        var plan = new StridedPlan(shape, BroadcastStrides(a, shape), BroadcastStrides(b, shape), y.StrideArray);
        float* pa = a.DataPtr, pb = b.DataPtr, py = y.DataPtr;
        long runs = plan.Outer;
        int n = plan.Inner;
        long ia = plan.InnerStride(0), ib = plan.InnerStride(1), iy = plan.InnerStride(2);
        var w = Simd.Best;
        for (long r = 0; r < runs; r++)
        {
            float* xa = pa + plan.OffsetOf(0, r), xb = pb + plan.OffsetOf(1, r), xy = py + plan.OffsetOf(2, r);
            if (iy == 1 && ia == 1 && ib == 1) ElementwiseLoops.Binary(op, xa, xb, xy, n, w);
            else if (iy == 1 && ia == 1 && ib == 0) ElementwiseLoops.BinaryScalarRight(op, xa, *xb, xy, n, w);
            else if (iy == 1 && ia == 0 && ib == 1) ElementwiseLoops.BinaryScalarLeft(op, *xa, xb, xy, n, w);
            else for (int i = 0; i < n; i++) xy[i * iy] = op.Invoke(xa[i * ia], xb[i * ib]);
        }
        return y;
    }

    /// <summary>y = op(x) elementwise; not recorded.</summary>
    internal static Tensor UnaryRaw<TOp>(TOp op, Tensor x, string name) where TOp : struct, IUnaryOp
    {
        RequireFloat(x, name);
        if (!x.Device.IsCpu) return Cuda.CudaElementwise.Unary(op, x, name);
        var y = Tensor.EmptyOwning(x.ShapeArray, DType.Float32, Device.Cpu);
        if (x.IsContiguous) ElementwiseLoops.Unary(op, x.DataPtr, y.DataPtr, x.Numel);
        else
        {
            using var c = x.ContiguousRaw();
            ElementwiseLoops.Unary(op, c.DataPtr, y.DataPtr, x.Numel);
        }
        return y;
    }

    /// <summary>y = op(a, b, c) for same-shape tensors (made contiguous); not recorded.</summary>
    internal static Tensor TernaryRaw<TOp>(TOp op, Tensor a, Tensor b, Tensor c, string name) where TOp : struct, ITernaryOp
    {
        RequireFloat(a, name); RequireFloat(b, name); RequireFloat(c, name);
        if (!Cuda.CudaLaunch.CommonDevice(name, a, b, c).IsCpu) return Cuda.CudaElementwise.Ternary(op, a, b, c, name);
        if (!Tensor.SameShape(a.Shape, b.Shape) || !Tensor.SameShape(a.Shape, c.Shape))
        {
            var s = BroadcastShape(BroadcastShape(a.Shape, b.Shape, name), c.Shape, name);
            using var ng = new Autograd.NoGradScope();
            using var ea = a.Expand(s); using var eb = b.Expand(s); using var ec = c.Expand(s);
            return TernaryRaw(op, ea, eb, ec, name);
        }
        using var ca = a.ContiguousRaw(); using var cb = b.ContiguousRaw(); using var cc = c.ContiguousRaw();
        var y = Tensor.Empty(a.Shape);
        ElementwiseLoops.Ternary(op, ca.DataPtr, cb.DataPtr, cc.DataPtr, y.DataPtr, y.Numel);
        return y;
    }

    /// <summary>Sums <paramref name="g"/> (a broadcast result) back down to <paramref name="shape"/>.</summary>
    public static Tensor SumTo(Tensor g, ReadOnlySpan<int> shape)
    {
        if (Tensor.SameShape(g.Shape, shape)) return g.Alias();
        int lead = g.Rank - shape.Length;
        if (lead < 0) throw new ArgumentException($"SumTo: {g.Describe()} has fewer dims than {Tensor.FormatShape(shape)}.");
        var axes = new List<int>();
        for (int i = 0; i < g.Rank; i++)
            if (i < lead || (shape[i - lead] == 1 && g.Shape[i] != 1)) axes.Add(i);
        var target = shape.ToArray();
        if (axes.Count == 0) return g.Reshape(target);
        using var s = Sum(g, axes.ToArray(), keepDim: true);
        return s.Reshape(target);
    }

    internal static void RequireFloat(Tensor t, string op)
    {
        if (t.DType != DType.Float32) throw new ArgumentException($"{op}: expected a float32 tensor, got {t.Describe()}.");
    }
}
