// where (select by mask) and gather (pick along a dim by int64 index), with backward rules
// that route the gradient through the same mask or scatter-add it back to the picked places.
using Cochlea.Autograd;
using Cochlea.Kernels.Elementwise;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>y = cond != 0 ? a : b, broadcasting all three. <paramref name="cond"/> is a float mask (non-zero = true).</summary>
    public static Tensor Where(Tensor cond, Tensor a, Tensor b)
    {
        RequireFloat(cond, "where");
        var y = TernaryRaw(new SelectOp(), a, b, cond, "where");
        int[] sa = a.ShapeArray, sb = b.ShapeArray;
        return BackwardPass.Record(y, "where", [cond, a, b], g =>
        {
            Tensor? da = null, db = null;
            using var zero = Tensor.Zeros(g.Device, 1);
            if (a.RequiresGrad) { using var t = TernaryRaw(new SelectOp(), g, zero, cond, "where"); da = SumTo(t, sa); }
            if (b.RequiresGrad) { using var t = TernaryRaw(new SelectOp(), zero, g, cond, "where"); db = SumTo(t, sb); }
            return [null, da, db];
        });
    }

    /// <summary>torch.gather: y[i][j][k] = x[i][index[i][j][k]][k] for dim = 1 (likewise for other dims). index is int64 with the rank of x.</summary>
    public static Tensor Gather(Tensor x, int dim, Tensor index)
    {
        RequireFloat(x, "gather");
        if (index.DType != DType.Int64 && index.DType != DType.Int32) throw new ArgumentException($"gather: index must be int64 or int32, got {index.Describe()}.");
        if (index.Rank != x.Rank) throw new ArgumentException($"gather: index {index.Describe()} must have the rank of {x.Describe()}.");
        int d = x.NormDim(dim);
        for (int i = 0; i < x.Rank; i++)
            if (i != d && index.Shape[i] > x.Shape[i]) throw new ArgumentException($"gather: index {index.Describe()} is larger than {x.Describe()} in dimension {i}.");
        if (!Cuda.CudaLaunch.CommonDevice("gather", x, index).IsCpu)
        {
            var (yc, ic) = Cuda.CudaIndexing.Gather(x, d, index);
            var xShape = x.ShapeArray;
            return BackwardPass.Record(yc, "gather", [x], g => [Cuda.CudaIndexing.GatherBackward(g, ic, d, xShape)]);
        }
        var idx = index.ToInt64Array();
        var y = Tensor.Empty(index.ShapeArray);
        var ishape = index.ShapeArray;
        var xs = x.StrideArray;
        float* px = x.DataPtr, py = y.DataPtr;
        var pos = new int[x.Rank];
        for (long lin = 0; lin < idx.Length; lin++)
        {
            long v = idx[lin];
            if (v < 0 || v >= x.Shape[d]) throw new IndexOutOfRangeException($"gather: index {v} at position {lin} is out of range for dimension {d} of {x.Describe()}.");
            long off = 0;
            for (int i = 0; i < x.Rank; i++) off += (i == d ? v : pos[i]) * xs[i];
            py[lin] = px[off];
            Increment(pos, ishape);
        }
        var inShape = x.ShapeArray;
        return BackwardPass.Record(y, "gather", [x], g =>
        {
            var dx = Tensor.Zeros(inShape);
            using var gc = g.ContiguousRaw();
            float* pd = dx.DataPtr, pg = gc.DataPtr;
            var ds = dx.StrideArray;
            var p = new int[inShape.Length];
            for (long lin = 0; lin < idx.Length; lin++)
            {
                long off = 0;
                for (int i = 0; i < p.Length; i++) off += (i == d ? idx[lin] : p[i]) * ds[i];
                pd[off] += pg[lin];
                Increment(p, ishape);
            }
            return [dx];
        });
    }

    static void Increment(int[] pos, int[] shape)
    {
        for (int i = pos.Length - 1; i >= 0; i--)
        {
            if (++pos[i] < shape[i]) return;
            pos[i] = 0;
        }
    }
}
