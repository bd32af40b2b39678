// sum / mean / max over axes. One axis at a time over an (outer, r, inner) view of a
// contiguous tensor: inner == 1 sums rows with SIMD, otherwise whole rows of length inner
// are added with SIMD. The order of additions is fixed, so results are deterministic.
using Cochlea.Autograd;
using Cochlea.Kernels;
using Cochlea.Kernels.Elementwise;
using Cochlea.Kernels.Threading;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>Sum over <paramref name="dims"/> (all dims when null or empty).</summary>
    public static Tensor Sum(Tensor x, int[]? dims = null, bool keepDim = false)
    {
        RequireFloat(x, "sum");
        var axes = NormAxes(x, dims);
        var y = SumRaw(x, axes, keepDim);
        var inShape = x.ShapeArray;
        return BackwardPass.Record(y, "sum", [x], g => [ExpandBack(g, inShape, axes, keepDim)]);
    }

    /// <summary>Sum over one dimension.</summary>
    public static Tensor Sum(Tensor x, int dim, bool keepDim = false) => Sum(x, [dim], keepDim);

    /// <summary>Mean over <paramref name="dims"/> (all dims when null or empty).</summary>
    public static Tensor Mean(Tensor x, int[]? dims = null, bool keepDim = false)
    {
        RequireFloat(x, "mean");
        var axes = NormAxes(x, dims);
        long count = 1;
        foreach (var a in axes) count *= x.Shape[a];
        using var s = SumRaw(x, axes, keepDim);
        var y = UnaryRaw(new ScaleOp(1f / Math.Max(count, 1)), s, "mean");
        var inShape = x.ShapeArray;
        return BackwardPass.Record(y, "mean", [x], g =>
        {
            using var e = ExpandBack(g, inShape, axes, keepDim);
            return [UnaryRaw(new ScaleOp(1f / Math.Max(count, 1)), e, "mean")];
        });
    }

    /// <summary>Mean over one dimension.</summary>
    public static Tensor Mean(Tensor x, int dim, bool keepDim = false) => Mean(x, [dim], keepDim);

    /// <summary>Maximum over <paramref name="dim"/>; the gradient goes to the first maximal element.</summary>
    public static Tensor Max(Tensor x, int dim, bool keepDim = false) => MaxWithIndex(x, dim, keepDim).Values;

    /// <summary>Maximum over all elements.</summary>
    public static Tensor Max(Tensor x)
    {
        using var flat = x.Reshape(-1);
        return Max(flat, 0);
    }

    /// <summary>Maximum over <paramref name="dim"/> and the int64 index where it occurs.</summary>
    public static (Tensor Values, Tensor Indices) MaxWithIndex(Tensor x, int dim, bool keepDim = false)
    {
        RequireFloat(x, "max");
        int d = x.NormDim(dim);
        if (x.Shape[d] == 0) throw new ArgumentException($"max: dimension {d} of {x.Describe()} is empty.");
        var (outer, r, inner) = Split3(x.Shape, d);
        var outShape = ReducedShape(x.Shape, [d], keepDim: true);
        bool cuda = !x.Device.IsCpu;
        Tensor vals, idx;
        using (var c = x.ContiguousRaw())
            (vals, idx) = cuda ? Cuda.CudaReduce.MaxAxis(c, outer, r, inner, outShape) : MaxAxisCpu(c, outer, r, inner, outShape);
        var inShape = x.ShapeArray;
        var kept = keepDim ? idx : Squeezed(idx, d);  // idx itself stays alive for backward
        var y = vals;
        if (!keepDim) { y = Squeezed(vals, d); vals.Dispose(); }
        BackwardPass.Record(y, "max", [x], g =>
        {
            if (cuda) return [Cuda.CudaReduce.MaxAxisBackward(g, idx, inShape, outer, r, inner)];
            var dx = Tensor.Zeros(inShape);
            using var gc = g.ContiguousRaw();
            float* pg = gc.DataPtr, pd = dx.DataPtr;
            long* pi = (long*)idx.RawPtr;
            for (long o = 0; o < outer; o++)
                for (long i = 0; i < inner; i++)
                    pd[(o * r + pi[o * inner + i]) * inner + i] += pg[o * inner + i];
            return [dx];
        });
        return (y, kept);
    }

    // Max over the middle axis of contiguous c viewed as (outer, r, inner): the first maximal element, NaN counting as maximal.
    static (Tensor Values, Tensor Indices) MaxAxisCpu(Tensor c, long outer, long r, long inner, int[] outShape)
    {
        var vals = Tensor.Empty(outShape);
        var idx = Tensor.Empty(outShape, DType.Int64);
        float* px = c.DataPtr, pv = vals.DataPtr;
        long* pi = (long*)idx.RawPtr;
        for (long o = 0; o < outer; o++)
            for (long i = 0; i < inner; i++)
            {
                float* src = px + o * r * inner + i;
                float m = src[0]; long at = 0;
                for (long k = 1; k < r; k++)
                {
                    float v = src[k * inner];
                    if (v > m || (float.IsNaN(v) && !float.IsNaN(m))) { m = v; at = k; }
                }
                pv[o * inner + i] = m; pi[o * inner + i] = at;
            }
        return (vals, idx);
    }

    static Tensor Squeezed(Tensor t, int d)
    {
        var s = t.ShapeArray.ToList(); s.RemoveAt(d);
        using var ng = new NoGradScope();
        var v = t.Reshape(s.ToArray());
        return v;
    }

    /// <summary>Unnormalised sum without recording (used by other ops' backward rules).</summary>
    internal static Tensor SumRaw(Tensor x, int[] axes, bool keepDim)
    {
        Tensor cur = x.ContiguousRaw();
        // Reduce the highest axis first so lower axis numbers stay valid (keepdim until the end).
        foreach (var a in axes.OrderByDescending(a => a))
        {
            var next = SumAxis(cur, a);
            cur.Dispose();
            cur = next;
        }
        if (keepDim) return cur;
        var final = ReducedShape(x.Shape, axes, keepDim: false);
        using (cur) using (new NoGradScope()) return cur.Reshape(final);
    }

    // Sums contiguous x over axis d, keeping it as size 1.
    static Tensor SumAxis(Tensor x, int d)
    {
        if (!x.Device.IsCpu) return Cuda.CudaReduce.SumAxis(x, d);
        var (outer, r, inner) = Split3(x.Shape, d);
        var shape = x.ShapeArray.ToArray(); shape[d] = 1;
        var y = Tensor.Empty(shape);
        float* px = x.DataPtr, py = y.DataPtr;
        var w = Simd.Best;
        if (inner == 1)
        {
            KernelThreads.For((int)outer, Math.Max(1, (int)(32768 / Math.Max(r, 1))), (s, e) =>
            {
                for (long o = s; o < e; o++) py[o] = ElementwiseLoops.Sum(px + o * r, r, w);
            });
        }
        else
        {
            KernelThreads.For((int)outer, Math.Max(1, (int)(32768 / Math.Max(r * inner, 1))), (s, e) =>
            {
                for (long o = s; o < e; o++)
                {
                    float* dst = py + o * inner;
                    new Span<float>(dst, (int)inner).Clear();
                    for (long k = 0; k < r; k++) ElementwiseLoops.Binary(new AddOp(), dst, px + (o * r + k) * inner, dst, inner, w);
                }
            });
        }
        return y;
    }

    // Broadcasts a reduced gradient back to the input shape (a fresh contiguous tensor).
    static Tensor ExpandBack(Tensor g, int[] inShape, int[] axes, bool keepDim)
    {
        var kept = ReducedShape(inShape, axes, keepDim: true);
        using var ng = new NoGradScope();
        using var gk = g.Reshape(kept);
        using var e = gk.Expand(inShape);
        return e.ContiguousRaw();
    }

    internal static (long Outer, long R, long Inner) Split3(ReadOnlySpan<int> shape, int d)
    {
        long outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= shape[i];
        for (int i = d + 1; i < shape.Length; i++) inner *= shape[i];
        return (outer, shape[d], inner);
    }

    static int[] NormAxes(Tensor x, int[]? dims)
    {
        if (dims is null || dims.Length == 0) return Enumerable.Range(0, x.Rank).ToArray();
        var a = dims.Select(d => x.NormDim(d)).Distinct().ToArray();
        if (a.Length != dims.Length) throw new ArgumentException($"Repeated dimension in {Tensor.FormatShape(dims)} for {x.Describe()}.");
        return a;
    }

    static int[] ReducedShape(ReadOnlySpan<int> shape, int[] axes, bool keepDim)
    {
        var r = new List<int>();
        for (int i = 0; i < shape.Length; i++)
            if (Array.IndexOf(axes, i) < 0) r.Add(shape[i]);
            else if (keepDim) r.Add(1);
        return r.ToArray();
    }
}
