// CUDA paths of the reductions (src/Engine/Ops/Reductions.cs) and softmax (Softmax.cs): one axis of a
// contiguous tensor viewed as (outer, r, inner); kernels in native/cuda/reduce.cu and softmax.cu.
namespace Cochlea.Cuda;

/// <summary>Axis reductions and softmax on CUDA tensors.</summary>
internal static unsafe class CudaReduce
{
    /// <summary>Sum of contiguous <paramref name="x"/> over axis <paramref name="d"/>, kept as size 1.</summary>
    public static Tensor SumAxis(Tensor x, int d)
    {
        var (outer, r, inner) = Ops.Split3(x.Shape, d);
        var shape = x.ShapeArray.ToArray(); shape[d] = 1;
        var y = Tensor.Empty(shape, DType.Float32, x.Device);
        long n = outer * inner;
        if (n == 0) return y;
        SumInto(CudaLaunch.Dev(x), x, y, outer, r, inner);
        return y;
    }

    /// <summary>
    /// db[c] = sum of contiguous <paramref name="dy"/> (N, C, ...) over every axis but 1: a convolution's bias gradient.
    /// Each (n, c) row first, then the N row sums per channel, both in a fixed order. Replaces
    /// cudnnConvolutionBackwardBias, which took 343 us for TutorialConv's (100, 64, 98, 40) dy on an H100 (ncu).
    /// </summary>
    public static void SumPerChannel(Tensor dy, Tensor db)
    {
        long n = dy.Size(0), c = dy.Size(1), spatial = n * c == 0 ? 0 : dy.Numel / (n * c);
        var dev = CudaLaunch.Dev(dy);
        if (spatial == 1) { SumInto(dev, dy, db, 1, n, c); return; }
        using var rows = Tensor.Empty([checked((int)(n * c))], DType.Float32, dy.Device);
        SumInto(dev, dy, rows, n * c, spatial, 1);
        SumInto(dev, rows, db, 1, n, c);
    }

    // x (outer, r, inner) contiguous -> y (outer, inner), by the kernel that suits the shape.
    static void SumInto(CudaDevice dev, Tensor x, Tensor y, long outer, long r, long inner)
    {
        long n = outer * inner;
        if (inner == 1 && r > ShortRow)
        {
            // One block per row: a long row (a full sum) still uses 256 threads.
            ulong px = x.DevicePtr, py = y.DevicePtr, o = (ulong)outer, rr = (ulong)r;
            void** args = stackalloc void*[] { &px, &py, &o, &rr };
            dev.Launch("sum_rows_f32", new Dim3((uint)Math.Min(outer, 65535)), new Dim3(CudaLaunch.Threads), 0, args);
        }
        else if (n < FewOutputs && r > 2 * ColumnChunk)
        {
            // Few, long columns: sum fixed chunks of each column in parallel, then the chunks in order.
            long chunks = (r + ColumnChunk - 1) / ColumnChunk;
            using var partial = Tensor.Empty([checked((int)(outer * chunks * inner))], DType.Float32, x.Device);
            ulong px = x.DevicePtr, pp = partial.DevicePtr, o = (ulong)outer, rr = (ulong)r, ii = (ulong)inner, ch = ColumnChunk, nc = (ulong)chunks;
            void** args = stackalloc void*[] { &px, &pp, &o, &rr, &ii, &ch, &nc };
            dev.Launch("sum_cols_chunked_f32", CudaLaunch.Grid(outer * chunks * inner), new Dim3(CudaLaunch.Threads), 0, args);
            SumInto(dev, partial, y, outer, chunks, inner);
        }
        else SumCols(dev, x, y, outer, r, inner);
    }

    // Row length up to which a thread per row beats a block per row (the block's tree costs more than the row).
    const long ShortRow = 64;
    // Outputs below which one thread per output leaves most of the GPU idle.
    const long FewOutputs = 16384;
    // Rows of a column one thread sums in the chunked pass.
    const long ColumnChunk = 128;

    // x (outer, r, inner) -> y (outer, inner), one thread per output, k in order.
    static void SumCols(CudaDevice dev, Tensor x, Tensor y, long outer, long r, long inner)
    {
        ulong px = x.DevicePtr, py = y.DevicePtr, o = (ulong)outer, rr = (ulong)r, ii = (ulong)inner;
        void** args = stackalloc void*[] { &px, &py, &o, &rr, &ii };
        dev.Launch("sum_cols_f32", CudaLaunch.Grid(outer * inner), new Dim3(CudaLaunch.Threads), 0, args);
    }

    /// <summary>Max of contiguous <paramref name="x"/> over axis d as (outer, r, inner): values (float32) and indices (int64), shape <paramref name="outShape"/>.</summary>
    public static (Tensor Values, Tensor Indices) MaxAxis(Tensor x, long outer, long r, long inner, int[] outShape)
    {
        var vals = Tensor.Empty(outShape, DType.Float32, x.Device);
        var idx = Tensor.Empty(outShape, DType.Int64, x.Device);
        long n = outer * inner;
        if (n == 0) return (vals, idx);
        ulong px = x.DevicePtr, pv = vals.DevicePtr, pi = idx.DevicePtr, o = (ulong)outer, rr = (ulong)r, ii = (ulong)inner;
        var dev = CudaLaunch.Dev(x);
        if (inner == 1 && r > ShortRow)
        {
            // Long rows (a max over all elements, a peak per clip): a block per row instead of one thread.
            void** rargs = stackalloc void*[] { &px, &pv, &pi, &o, &rr };
            dev.Launch("max_rows_f32", new Dim3((uint)Math.Min(outer, 65535)), new Dim3(CudaLaunch.Threads), 0, rargs);
        }
        else
        {
            void** args = stackalloc void*[] { &px, &pv, &pi, &o, &rr, &ii };
            dev.Launch("max_axis_f32", CudaLaunch.Grid(n), new Dim3(CudaLaunch.Threads), 0, args);
        }
        return (vals, idx);
    }

    /// <summary>Backward of <see cref="MaxAxis"/>: a zero tensor of <paramref name="inShape"/> with g at the saved indices.</summary>
    public static Tensor MaxAxisBackward(Tensor g, Tensor indices, int[] inShape, long outer, long r, long inner)
    {
        var dx = Tensor.Zeros(g.Device, inShape);
        long n = outer * inner;
        if (n == 0) return dx;
        using var gc = g.ContiguousRaw();
        ulong pg = gc.DevicePtr, pi = indices.DevicePtr, pd = dx.DevicePtr, o = (ulong)outer, rr = (ulong)r, ii = (ulong)inner;
        void** args = stackalloc void*[] { &pg, &pi, &pd, &o, &rr, &ii };
        CudaLaunch.Dev(g).Launch("max_axis_backward_f32", CudaLaunch.Grid(n), new Dim3(CudaLaunch.Threads), 0, args);
        return dx;
    }

    /// <summary>softmax / log-softmax of <paramref name="x"/> (any layout) along dim <paramref name="d"/>; contiguous result.</summary>
    public static Tensor Softmax(Tensor x, int d, bool log)
    {
        using var c = x.ContiguousRaw();
        var y = Tensor.Empty(x.Shape, DType.Float32, x.Device);
        RunSoftmax(log ? "log_softmax" : "softmax", d, c, null, y);
        return y;
    }

    /// <summary>Backward from the forward output y and upstream g: softmax dx = y (g - sum g y), log-softmax dx = g - exp(y) sum g.</summary>
    public static Tensor SoftmaxBackward(Tensor y, Tensor g, int d, bool log)
    {
        using var gc = g.ContiguousRaw();
        var dx = Tensor.Empty(y.Shape, DType.Float32, y.Device);
        RunSoftmax(log ? "log_softmax_backward" : "softmax_backward", d, y, gc, dx);
        return dx;
    }

    // Forward: (a = x, b = null); backward: (a = y, b = g). All contiguous, same shape.
    static void RunSoftmax(string family, int d, Tensor a, Tensor? b, Tensor dst)
    {
        if (dst.Numel == 0) return;
        var (outer, n, inner) = a.Rank == 0 ? (1L, 1L, 1L) : Ops.Split3(a.Shape, d);
        var dev = CudaLaunch.Dev(a);
        ulong pa = a.DevicePtr, pb = CudaLaunch.PtrOrNull(b), pd = dst.DevicePtr, o = (ulong)outer, nn = (ulong)n, ii = (ulong)inner;
        var block = new Dim3(CudaLaunch.Threads);
        // Rows (softmax over the last dim): a warp per row. Otherwise a thread per column, no transpose copies.
        if (b is null)
        {
            if (inner == 1) { void** args = stackalloc void*[] { &pa, &pd, &o, &nn }; dev.Launch(family + "_rows_f32", CudaLaunch.WarpRowsGrid(outer), block, 0, args); }
            else { void** args = stackalloc void*[] { &pa, &pd, &o, &nn, &ii }; dev.Launch(family + "_cols_f32", CudaLaunch.Grid(outer * inner), block, 0, args); }
        }
        else
        {
            if (inner == 1) { void** args = stackalloc void*[] { &pa, &pb, &pd, &o, &nn }; dev.Launch(family + "_rows_f32", CudaLaunch.WarpRowsGrid(outer), block, 0, args); }
            else { void** args = stackalloc void*[] { &pa, &pb, &pd, &o, &nn, &ii }; dev.Launch(family + "_cols_f32", CudaLaunch.Grid(outer * inner), block, 0, args); }
        }
    }
}
