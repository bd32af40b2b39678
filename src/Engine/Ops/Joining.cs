// concat, stack, split and constant pad: copies between a tensor and regions (slices) of
// another; each backward is the matching slice or scatter.
using Cochlea.Autograd;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>Joins tensors along an existing dimension (shapes must agree elsewhere).</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> xs, int dim)
    {
        if (xs.Count == 0) throw new ArgumentException("concat: no tensors given.");
        var first = xs[0];
        int d = first.NormDim(dim);
        var shape = first.ShapeArray.ToArray();
        int total = 0;
        foreach (var t in xs)
        {
            RequireFloat(t, "concat");
            if (t.Rank != first.Rank) throw new ArgumentException($"concat: {t.Describe()} and {first.Describe()} differ in rank.");
            for (int i = 0; i < t.Rank; i++)
                if (i != d && t.Shape[i] != shape[i]) throw new ArgumentException($"concat: {t.Describe()} and {first.Describe()} differ in dimension {i}.");
            total += t.Shape[d];
        }
        shape[d] = total;
        var sizes = xs.Select(t => t.Shape[d]).ToArray();
        var y = Cuda.CudaLaunch.CommonDevice("concat", xs).IsCpu ? ConcatCpu(xs, d, shape) : Cuda.CudaIndexing.Concat(xs, d, shape);
        return BackwardPass.Record(y, "concat", xs.ToArray(), g =>
        {
            var r = new Tensor?[sizes.Length];
            int at = 0;
            for (int i = 0; i < sizes.Length; i++)
            {
                if (xs[i].RequiresGrad) { using var s = g.Slice(d, at, at + sizes[i]); r[i] = s.ContiguousRaw(); }
                at += sizes[i];
            }
            return r;
        });
    }

    // Copies each input into its region (a slice view) of a new CPU tensor.
    static Tensor ConcatCpu(IReadOnlyList<Tensor> xs, int d, int[] shape)
    {
        var y = Tensor.Empty(shape);
        using (new NoGradScope())
        {
            int at = 0;
            foreach (var t in xs)
            {
                using var region = y.Slice(d, at, at + t.Shape[d]);
                t.CopyTo(region);
                at += t.Shape[d];
            }
        }
        return y;
    }

    /// <summary>Stacks same-shape tensors along a new dimension <paramref name="dim"/>.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> xs, int dim)
    {
        if (xs.Count == 0) throw new ArgumentException("stack: no tensors given.");
        foreach (var t in xs)
            if (!Tensor.SameShape(t.Shape, xs[0].Shape)) throw new ArgumentException($"stack: {t.Describe()} differs from {xs[0].Describe()}.");
        int d = dim < 0 ? dim + xs[0].Rank + 1 : dim;
        var parts = xs.Select(t => t.Unsqueeze(d)).ToArray();
        return Concat(parts, d);
    }

    /// <summary>Splits along <paramref name="dim"/> into pieces of the given sizes (they must add up to the dimension). Pieces are views.</summary>
    public static Tensor[] Split(Tensor x, int[] sizes, int dim)
    {
        int d = x.NormDim(dim);
        if (sizes.Sum() != x.Shape[d] || sizes.Any(s => s < 0))
            throw new ArgumentException($"split: sizes {Tensor.FormatShape(sizes)} do not add up to dimension {d} of {x.Describe()}.");
        var r = new Tensor[sizes.Length];
        int at = 0;
        for (int i = 0; i < sizes.Length; i++) { r[i] = x.Slice(d, at, at + sizes[i]); at += sizes[i]; }
        return r;
    }

    /// <summary>
    /// Constant padding as torch.nn.functional.pad: <paramref name="pads"/> = (left, right) for the last dim,
    /// then (top, bottom) for the one before, and so on. Negative pads crop.
    /// </summary>
    public static Tensor Pad(Tensor x, int[] pads, float value = 0f)
    {
        RequireFloat(x, "pad");
        if (pads.Length % 2 != 0 || pads.Length / 2 > x.Rank)
            throw new ArgumentException($"pad: {pads.Length} pad values for {x.Describe()}; give an even count, at most 2 per dimension.");
        var shape = x.ShapeArray.ToArray();
        var before = new int[x.Rank];
        for (int i = 0; i < pads.Length / 2; i++)
        {
            int d = x.Rank - 1 - i;
            before[d] = pads[2 * i];
            shape[d] += pads[2 * i] + pads[2 * i + 1];
            if (shape[d] < 0) throw new ArgumentException($"pad: cropping more than dimension {d} of {x.Describe()} holds.");
        }
        var y = x.Device.IsCpu ? PadCpu(x, shape, before, value) : Cuda.CudaIndexing.Pad(x, shape, before, value);
        var inShape = x.ShapeArray;
        return BackwardPass.Record(y, "pad", [x], g =>
        {
            var neg = pads.Select(p => -p).ToArray();
            using var ng = new NoGradScope();
            return [Pad(g, neg, 0f)];
        });
    }

    // Fills a new CPU tensor with value and copies the overlap of x (cropped where a pad is negative) into it.
    static Tensor PadCpu(Tensor x, int[] shape, int[] before, float value)
    {
        var y = Tensor.Full(value, shape);
        using (new NoGradScope())
        {
            // Copy the overlap of x (cropped where a pad is negative) into y.
            Tensor src = x.Alias(), dst = y.Alias();
            for (int d = 0; d < x.Rank; d++)
            {
                int sStart = Math.Max(0, -before[d]), dStart = Math.Max(0, before[d]);
                int len = Math.Min(x.Shape[d] - sStart, shape[d] - dStart);
                var s2 = src.Slice(d, sStart, sStart + len); src.Dispose(); src = s2;
                var d2 = dst.Slice(d, dStart, dStart + len); dst.Dispose(); dst = d2;
            }
            src.CopyTo(dst);
            src.Dispose(); dst.Dispose();
        }
        return y;
    }
}
