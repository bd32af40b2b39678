// CUDA paths of gather, concat and pad (src/Engine/Ops/Indexing.cs, Joining.cs); kernels in
// native/cuda/indexing.cu and joining.cu. where() goes through the ternary select kernel.
using System.Runtime.InteropServices;

namespace Cochlea.Cuda;

/// <summary>Layout of <c>struct GatherPlan</c> in native/cuda/indexing.cu (144 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CudaGatherPlan
{
    public fixed long Shape[8];
    public fixed long Xs[8];
    public int Rank;
    public int Dim;
    public long XDim;
}

/// <summary>Layout of <c>struct PadPlan</c> in native/cuda/joining.cu (264 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CudaPadPlan
{
    public fixed long Shape[8];
    public fixed long Before[8];
    public fixed long XShape[8];
    public fixed long Xs[8];
    public int Rank;
}

/// <summary>gather, concat and pad on CUDA tensors.</summary>
internal static unsafe class CudaIndexing
{
    const int MaxRank = 8;

    static void RequireRank(string op, Tensor t)
    {
        if (t.Rank > MaxRank) throw new NotSupportedException($"{op}: {t.Describe()} has rank {t.Rank}; CUDA supports at most {MaxRank} dimensions here.");
    }

    /// <summary>
    /// y = torch.gather(x, d, index) for x and index on one CUDA device; returns y and the contiguous index the
    /// backward needs. An out-of-range index is checked by the kernel (NaN at its place, no gradient through it) and
    /// throws <see cref="IndexOutOfRangeException"/> at the device's next synchronisation (CudaDevice.DeferCheck):
    /// reading a flag here would wait for the GPU in the middle of the step.
    /// </summary>
    public static (Tensor Y, Tensor Index) Gather(Tensor x, int d, Tensor index)
    {
        RequireRank("gather", x);
        var idx = index.ContiguousRaw();
        var y = Tensor.Empty(index.Shape, DType.Float32, x.Device);
        if (y.Numel == 0) return (y, idx);
        var dev = CudaLaunch.Dev(x);
        var plan = Plan(index.Shape, x.Strides, d, x.Shape[d]);
        // The message is formatted only on failure, from x's name and shape array (immutable) captured now: x itself may be disposed by then.
        ulong check = dev.DeferCheck(static (f, ctx, dv) => new IndexOutOfRangeException(
            $"gather: index {f.IntText} at {f.PositionText} is out of range for dimension {ctx.Value} of {Tensor.Describe(ctx.Name, ctx.Shape, DType.Float32)}; {dv.DeferredNote}."),
            new(Value: d, Shape: x.ShapeArray, Name: x.Name));
        ulong px = x.DevicePtr, pi = idx.DevicePtr, py = y.DevicePtr, n = (ulong)y.Numel;
        int i32 = idx.DType == DType.Int32 ? 1 : 0;
        void** args = stackalloc void*[] { &px, &pi, &i32, &py, &n, &plan, &check };
        dev.Launch("gather_f32", CudaLaunch.Grid(y.Numel), new Dim3(CudaLaunch.Threads), 0, args);
        return (y, idx);
    }

    /// <summary>dx (zeros of <paramref name="inShape"/>) with g scatter-added at the gathered places, in a fixed order.</summary>
    public static Tensor GatherBackward(Tensor g, Tensor idx, int d, int[] inShape)
    {
        var dx = Tensor.Zeros(g.Device, inShape);
        long len = idx.Shape[d];
        if (idx.Numel == 0) return dx;
        using var gc = g.ContiguousRaw();
        var plan = Plan(idx.Shape, dx.Strides, d, inShape[d]);
        long columns = idx.Numel / len;
        ulong pg = gc.DevicePtr, pi = idx.DevicePtr, pd = dx.DevicePtr, cols = (ulong)columns;
        int i32 = idx.DType == DType.Int32 ? 1 : 0;
        void** args = stackalloc void*[] { &pg, &pi, &i32, &pd, &cols, &plan };
        CudaLaunch.Dev(g).Launch("gather_backward_f32", CudaLaunch.Grid(columns), new Dim3(CudaLaunch.Threads), 0, args);
        return dx;
    }

    static CudaGatherPlan Plan(ReadOnlySpan<int> shape, ReadOnlySpan<long> xs, int d, int xdim)
    {
        var p = new CudaGatherPlan { Rank = shape.Length, Dim = d, XDim = xdim };
        for (int i = 0; i < shape.Length; i++) { p.Shape[i] = shape[i]; p.Xs[i] = xs[i]; }
        return p;
    }

    /// <summary>Concatenation of <paramref name="xs"/> (one CUDA device, shapes checked by the caller) along <paramref name="d"/> into a new tensor of <paramref name="shape"/>.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> xs, int d, int[] shape)
    {
        var y = Tensor.Empty(shape, DType.Float32, xs[0].Device);
        var (outer, total, inner) = Ops.Split3(shape, d);
        var dev = CudaLaunch.Dev(y);
        long at = 0;
        foreach (var t in xs)
        {
            long cols = t.Shape[d] * inner, n = outer * cols;
            if (n > 0)
            {
                using var c = t.ContiguousRaw();
                CopyBlock(dev, c, y, outer, cols, total * inner, at * inner);
            }
            at += t.Shape[d];
        }
        return y;
    }

    // src (outer, cols) contiguous -> dst (outer, dstCols) at column offset.
    static void CopyBlock(CudaDevice dev, Tensor src, Tensor dst, long outer, long cols, long dstCols, long offset)
    {
        ulong ps = src.DevicePtr, pd = dst.DevicePtr, o = (ulong)outer, cc = (ulong)cols, dc = (ulong)dstCols, off = (ulong)offset;
        void** args = stackalloc void*[] { &ps, &pd, &o, &cc, &dc, &off };
        dev.Launch("concat_copy_f32", CudaLaunch.Grid(outer * cols), new Dim3(CudaLaunch.Threads), 0, args);
    }

    /// <summary>Constant pad (negative = crop) of x into a new tensor of <paramref name="shape"/>; <paramref name="before"/> per dim.</summary>
    public static Tensor Pad(Tensor x, int[] shape, int[] before, float value)
    {
        RequireRank("pad", x);
        var y = Tensor.Empty(shape, DType.Float32, x.Device);
        if (y.Numel == 0) return y;
        var plan = new CudaPadPlan { Rank = x.Rank };
        for (int i = 0; i < x.Rank; i++) { plan.Shape[i] = shape[i]; plan.Before[i] = before[i]; plan.XShape[i] = x.Shape[i]; plan.Xs[i] = x.Strides[i]; }
        ulong px = x.DevicePtr, py = y.DevicePtr, n = (ulong)y.Numel;
        void** args = stackalloc void*[] { &px, &py, &n, &plan, &value };
        CudaLaunch.Dev(x).Launch("pad_f32", CudaLaunch.Grid(y.Numel), new Dim3(CudaLaunch.Threads), 0, args);
        return y;
    }
}
