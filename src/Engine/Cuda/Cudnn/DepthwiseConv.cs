// Launches of native/cuda/depthwise.cu for one depthwise convolution (channel multiplier 1): x (N, C, H, W),
// w (C, 1, KH, KW), y (N, C, OH, OW), 1-d as H = KH = 1; stride, dilation and asymmetric padding handled in the kernels.
using Cochlea.Kernels.Conv;

namespace Cochlea.Cuda.Cudnn;

/// <summary>The geometry of a depthwise convolution and its three kernels (the alternative to cuDNN that Ops.ConvCuda may pick).</summary>
internal readonly unsafe struct DepthwiseConv(int n, int c, ConvAxis ah, ConvAxis aw)
{
    const uint BlockThreads = 256;   // DW_THREADS of depthwise_backward_weight_f32

    /// <summary>y = depthwise(x, w) + b (b = 0: none). Pointers are contiguous device buffers.</summary>
    public void Forward(CudaDevice dev, ulong x, ulong w, ulong b, ulong y) =>
        Launch(dev, "depthwise_forward_f32", CudaTensors.Grid((long)n * c * ah.Out * aw.Out), CudaTensors.Threads, 4, x, w, b, y);

    /// <summary>dx = the adjoint of the convolution applied to dy (every dx element written).</summary>
    public void BackwardData(CudaDevice dev, ulong dy, ulong w, ulong dx) =>
        Launch(dev, "depthwise_backward_data_f32", CudaTensors.Grid((long)n * c * ah.In * aw.In), CudaTensors.Threads, 3, dy, w, dx, 0);

    /// <summary>dw (C, 1, KH, KW) and/or db (C), each 0 when not wanted; x may be 0 when dw is. A block per (channel, tap or bias).</summary>
    public void BackwardWeight(CudaDevice dev, ulong x, ulong dy, ulong dw, ulong db)
    {
        long blocks = (long)c * ((dw != 0 ? ah.Kernel * aw.Kernel : 0) + (db != 0 ? 1 : 0));
        if (blocks > 0) Launch(dev, "depthwise_backward_weight_f32", new Dim3((uint)Math.Min(blocks, 1 << 20)), BlockThreads, 4, x, dy, dw, db);
    }

    // `pointers` device pointers (p0..), then DW_GEOMETRY's parameters.
    void Launch(CudaDevice dev, string kernel, Dim3 grid, uint threads, int pointers, ulong p0, ulong p1, ulong p2, ulong p3)
    {
        long planes = (long)n * c;
        int cc = c, h = ah.In, w = aw.In, oh = ah.Out, ow = aw.Out, kh = ah.Kernel, kw = aw.Kernel;
        int sh = ah.Stride, sw = aw.Stride, dh = ah.Dilation, dw = aw.Dilation, top = ah.PadBefore, left = aw.PadBefore;
        void** args = stackalloc void*[] { &p0, &p1, &p2, &p3, &planes, &cc, &h, &w, &oh, &ow, &kh, &kw, &sh, &sw, &dh, &dw, &top, &left };
        if (pointers == 3)   // no fourth pointer: shift the geometry down one slot
            for (int i = 3; i < 17; i++) args[i] = args[i + 1];
        dev.Launch(kernel, grid, new Dim3(threads), 0, args);
    }
}
