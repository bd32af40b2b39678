// Launches of native/cuda/depthwise.cu for one depthwise convolution (channel multiplier 1): x (N, C, H, W),
// w (C, 1, KH, KW), y (N, C, OH, OW), 1-d as H = KH = 1; stride, dilation and asymmetric padding handled in the kernels.
using Cochlea.Kernels.Conv;

namespace Cochlea.Cuda.Cudnn;

/// <summary>The geometry of a depthwise convolution and its three kernels (the alternative to cuDNN that Ops.ConvCuda may pick).</summary>
internal readonly unsafe struct DepthwiseConv(int n, int c, ConvAxis ah, ConvAxis aw)
{
    const uint BlockThreads = 256;   // DW_THREADS of depthwise_backward_weight_f32
    const int MaxTaps = 16;          // DW_MAX_TAPS: taps per backward-weight block
    const int TargetBlocks = 1024;   // backward weight: split channels until about this many blocks (~8 per SM on 132 SMs)
    const int MinSplitPositions = 2048;   // ... but keep at least 8 positions per thread in every split

    /// <summary>
    /// The largest tensor (elements) for the 32-bit-index kernels; above it the i64 ones run. 2^30 keeps index + grid
    /// stride (at most 2^28, CudaTensors.Grid's cap) below 2^31. Internal and settable only so tests can force i64.
    /// </summary>
    internal static long Int32Limit { get; set; } = 1L << 30;

    /// <summary>The entry-point suffix for this shape: _i32 or _i64, then _k3 for a kernel width of 3.</summary>
    internal string Variant => Suffixes[VariantIndex];

    // DW_VARIANTS's entry points of each kernel, by VariantIndex (names made once: launches allocate nothing).
    static readonly string[] Suffixes = ["_i32", "_i64", "_i32_k3", "_i64_k3"];
    static readonly string[] ForwardKernels = Suffixes.Select(v => "depthwise_forward_f32" + v).ToArray();
    static readonly string[] DataKernels = Suffixes.Select(v => "depthwise_backward_data_f32" + v).ToArray();
    static readonly string[] WeightKernels = Suffixes.Select(v => "depthwise_backward_weight_f32" + v).ToArray();

    int VariantIndex
    {
        get
        {
            long largest = Math.Max((long)n * c * ah.In * aw.In, (long)n * c * ah.Out * aw.Out);
            return (largest <= Int32Limit ? 0 : 1) + (aw.Kernel == 3 ? 2 : 0);
        }
    }

    /// <summary>How many blocks share one channel's N * OH * OW positions in the backward weight kernel (1: no partials).</summary>
    internal int Splits(bool withWeight)
    {
        int taps = withWeight ? ah.Kernel * aw.Kernel : 0;
        long units = (long)c * Math.Max(1, (taps + MaxTaps - 1) / MaxTaps);
        long positions = (long)n * ah.Out * aw.Out;
        long wanted = (TargetBlocks + units - 1) / units;
        return (int)Math.Clamp(Math.Min(wanted, positions / MinSplitPositions), 1, 1 << 16);
    }

    /// <summary>y = depthwise(x, w) + b (b = 0: none). Pointers are contiguous device buffers.</summary>
    public void Forward(CudaDevice dev, ulong x, ulong w, ulong b, ulong y) =>
        Launch(dev, ForwardKernels, CudaTensors.Grid((long)n * c * ah.Out * aw.Out), CudaTensors.Threads, [x, w, b, y]);

    /// <summary>dx = the adjoint of the convolution applied to dy (every dx element written).</summary>
    public void BackwardData(CudaDevice dev, ulong dy, ulong w, ulong dx) =>
        Launch(dev, DataKernels, CudaTensors.Grid((long)n * c * ah.In * aw.In), CudaTensors.Threads, [dy, w, dx]);

    /// <summary>
    /// dw (C, 1, KH, KW) and/or db (C), each 0 when not wanted; x may be 0 when dw is. Blocks of (channel, group of up
    /// to 16 taps, split); with more than one split the blocks write partial sums to the device workspace and a second
    /// kernel adds them in split order.
    /// </summary>
    public void BackwardWeight(CudaDevice dev, ulong x, ulong dy, ulong dw, ulong db)
    {
        if (dw == 0 && db == 0) return;
        int taps = dw != 0 ? ah.Kernel * aw.Kernel : 0;
        int groups = Math.Max(1, (taps + MaxTaps - 1) / MaxTaps), splits = Splits(dw != 0);
        long blocks = (long)c * groups * splits;
        if (blocks > int.MaxValue) throw new NotSupportedException($"Depthwise backward weight: {c} channels x {groups} tap groups need {blocks} blocks, more than a grid holds; use DepthwiseKernels.Cudnn for this shape.");
        // Partials (C, taps + 1, splits) in the cuDNN workspace: free until the next library call, and ordered on the stream.
        ulong partial = splits > 1 ? dev.Workspace((long)c * (taps + 1) * splits * sizeof(float)) : 0;
        Launch(dev, WeightKernels, new Dim3((uint)blocks), BlockThreads, [x, dy, dw, db, partial], splits);
        if (splits == 1) return;
        int cc = c;
        void** args = stackalloc void*[] { &partial, &dw, &db, &cc, &taps, &splits };
        dev.Launch("depthwise_backward_weight_sum_f32", CudaTensors.Grid((long)c * (taps + 1)), new Dim3(CudaTensors.Threads), 0, args);
    }

    // `pointers` device pointers, then `extra` when given (an int), then DW_GEOMETRY's parameters; `kernels` are
    // one kernel's variants, picked by VariantIndex (index width, kernel width).
    void Launch(CudaDevice dev, string[] kernels, Dim3 grid, uint threads, ReadOnlySpan<ulong> pointers, int? extra = null)
    {
        long planes = (long)n * c;
        int cc = c, h = ah.In, w = aw.In, oh = ah.Out, ow = aw.Out, kh = ah.Kernel, kw = aw.Kernel;
        int sh = ah.Stride, sw = aw.Stride, dh = ah.Dilation, dw = aw.Dilation, top = ah.PadBefore, left = aw.PadBefore;
        int extraValue = extra ?? 0;
        ulong* ptrs = stackalloc ulong[pointers.Length];
        void** args = stackalloc void*[pointers.Length + 1 + 14];
        int a = 0;
        for (int i = 0; i < pointers.Length; i++) { ptrs[i] = pointers[i]; args[a++] = &ptrs[i]; }
        if (extra is not null) args[a++] = &extraValue;
        void** geometry = stackalloc void*[] { &planes, &cc, &h, &w, &oh, &ow, &kh, &kw, &sh, &sw, &dh, &dw, &top, &left };
        for (int i = 0; i < 14; i++) args[a++] = geometry[i];
        dev.Launch(kernels[VariantIndex], grid, new Dim3(threads), 0, args);
    }
}
