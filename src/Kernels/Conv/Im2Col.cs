// im2col / col2im for 1-d and 2-d convolutions (stride, asymmetric padding, dilation), on a
// channel range so that a grouped convolution is one GEMM per group.
//
// Column layout, per image and group (cg = channelCount channels starting at channelStart):
//   cols (cg*KH*KW, OH*OW), row-major; row (c*KH + ki)*KW + kj, column oy*OW + ox holds
//   x[channelStart + c, oy*sh - padTop + ki*dh, ox*sw - padLeft + kj*dw] (0 outside the image).
// Rows are ordered like a PyTorch weight (Cout, Cin/groups, KH, KW) flattened to (Cout, cg*KH*KW), so
//   forward      y_g (Cout/g, OH*OW)      = W_g (Cout/g, cg*KH*KW) x cols
//   weight grad  dW_g (Cout/g, cg*KH*KW)  = dy_g x cols^T                (summed over images)
//   input grad   dcols = W_g^T x dy_g, then Col2Im(dcols) accumulates into dx.
// 1-d is the 2-d case with H = KH = 1 (cols (cg*K, OL)).
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Conv;

/// <summary>im2col (gather) and col2im (accumulating scatter) for 1-d/2-d convolutions; layout in the file header.</summary>
public static unsafe class Im2Col
{
    // A chunk of rows must move at least ~16k floats before a second thread pays for itself.
    const int MinFloatsPerChunk = 16384;

    /// <summary>
    /// cols (channelCount*KH*KW, OH*OW) from channels [channelStart, channelStart+channelCount) of one image x (C, H, W).
    /// Every element of cols is written (padding reads as 0). Runs on at most threads threads (0: KernelThreads.Count; 1: the
    /// calling thread only, for callers that split images over threads themselves). No SimdWidth overload: rows are plain copies
    /// (Span.CopyTo, already vectorised) for stride 1 and gathers otherwise.
    /// </summary>
    public static void Forward2d(float* x, ConvAxis h, ConvAxis w, int channelStart, int channelCount, float* cols, int threads = 0)
    {
        if (threads <= 0) threads = KernelThreads.Count;
        Validate(h, w, channelStart, channelCount);
        long colsLen = (long)channelCount * h.Kernel * w.Kernel * h.Out * w.Out;
        KernelArgs.NotNull(x, colsLen > 0 ? (long)h.In * w.In : 0, nameof(x)); KernelArgs.NotNull(cols, colsLen, nameof(cols));
        int oh = h.Out, ow = w.Out;
        int rows = channelCount * h.Kernel * w.Kernel;
        long plane = (long)oh * ow;
        if (rows == 0 || plane == 0) return;
        nint px = (nint)x, pc = (nint)cols;
        KernelThreads.For(rows, (int)Math.Max(1, MinFloatsPerChunk / plane), Math.Max(1, threads), (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                int kj = r % w.Kernel, ki = r / w.Kernel % h.Kernel, c = r / (w.Kernel * h.Kernel);
                float* xc = (float*)px + (long)(channelStart + c) * h.In * w.In;
                float* row = (float*)pc + r * plane;
                int offW = kj * w.Dilation - w.PadBefore;
                var (lo, hi) = ConvShape.ValidRange(ow, w.Stride, offW, w.In);
                for (int oy = 0; oy < oh; oy++)
                {
                    float* dst = row + (long)oy * ow;
                    int iy = oy * h.Stride - h.PadBefore + ki * h.Dilation;
                    if ((uint)iy >= (uint)h.In) { new Span<float>(dst, ow).Clear(); continue; }
                    new Span<float>(dst, lo).Clear();
                    float* src = xc + (long)iy * w.In + offW;
                    if (w.Stride == 1) new ReadOnlySpan<float>(src + lo, hi - lo).CopyTo(new Span<float>(dst + lo, hi - lo));
                    else for (int ox = lo; ox < hi; ox++) dst[ox] = src[(long)ox * w.Stride];   // strided gather: scalar
                    new Span<float>(dst + hi, ow - hi).Clear();
                }
            }
        });
    }

    /// <summary>1-d im2col: x (C, L) -> cols (channelCount*K, OL). See <see cref="Forward2d"/>.</summary>
    public static void Forward1d(float* x, ConvAxis l, int channelStart, int channelCount, float* cols)
        => Forward2d(x, new ConvAxis(1, 1), l, channelStart, channelCount, cols);

    /// <summary>
    /// col2im: dx[channelStart + c, iy, ix] += cols[(c*KH+ki)*KW+kj, oy*OW+ox] over every (ki, kj, oy, ox) that reads
    /// (iy, ix) in <see cref="Forward2d"/>; dx (C, H, W) is accumulated into, not overwritten. Uses <see cref="Simd.Best"/>.
    /// </summary>
    public static void Backward2d(float* cols, ConvAxis h, ConvAxis w, int channelStart, int channelCount, float* dx)
        => Backward2d(cols, h, w, channelStart, channelCount, dx, Simd.Best);

    /// <inheritdoc cref="Backward2d(float*, ConvAxis, ConvAxis, int, int, float*)"/>
    public static void Backward2d(float* cols, ConvAxis h, ConvAxis w, int channelStart, int channelCount, float* dx, SimdWidth width, int threads = 0)
    {
        if (threads <= 0) threads = KernelThreads.Count;
        Validate(h, w, channelStart, channelCount);
        long colsLen = (long)channelCount * h.Kernel * w.Kernel * h.Out * w.Out;
        KernelArgs.NotNull(cols, colsLen, nameof(cols)); KernelArgs.NotNull(dx, colsLen > 0 ? (long)h.In * w.In : 0, nameof(dx));
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
        long plane = (long)h.Out * w.Out;
        if (channelCount == 0 || plane == 0) return;
        nint pc = (nint)cols, px = (nint)dx;
        // Threads split channels: each dx plane is written by exactly one thread, in a fixed order.
        int per = h.Kernel * w.Kernel * (int)Math.Min(plane, int.MaxValue);
        KernelThreads.For(channelCount, Math.Max(1, MinFloatsPerChunk / Math.Max(1, per)), Math.Max(1, threads), (c0, c1) =>
        {
            switch (width)
            {
                case SimdWidth.V512: Col2Im<V512Ops, Vector512<float>>((float*)pc, h, w, channelStart, c0, c1, (float*)px); break;
                case SimdWidth.V256: Col2Im<V256Ops, Vector256<float>>((float*)pc, h, w, channelStart, c0, c1, (float*)px); break;
                case SimdWidth.V128: Col2Im<V128Ops, Vector128<float>>((float*)pc, h, w, channelStart, c0, c1, (float*)px); break;
                default: Col2Im<ScalarOps, float>((float*)pc, h, w, channelStart, c0, c1, (float*)px); break;
            }
        });
    }

    /// <summary>1-d col2im: cols (channelCount*K, OL) accumulated into dx (C, L). See <see cref="Backward2d(float*, ConvAxis, ConvAxis, int, int, float*)"/>.</summary>
    public static void Backward1d(float* cols, ConvAxis l, int channelStart, int channelCount, float* dx)
        => Backward2d(cols, new ConvAxis(1, 1), l, channelStart, channelCount, dx, Simd.Best);

    /// <inheritdoc cref="Backward1d(float*, ConvAxis, int, int, float*)"/>
    public static void Backward1d(float* cols, ConvAxis l, int channelStart, int channelCount, float* dx, SimdWidth width)
        => Backward2d(cols, new ConvAxis(1, 1), l, channelStart, channelCount, dx, width);

    static void Col2Im<TO, TV>(float* cols, ConvAxis h, ConvAxis w, int channelStart, int c0, int c1, float* dx)
        where TO : struct, IVec<TV> where TV : struct
    {
        int oh = h.Out, ow = w.Out;
        long plane = (long)oh * ow;
        for (int c = c0; c < c1; c++)
        {
            float* xc = dx + (long)(channelStart + c) * h.In * w.In;
            for (int ki = 0; ki < h.Kernel; ki++)
                for (int kj = 0; kj < w.Kernel; kj++)
                {
                    float* row = cols + ((long)(c * h.Kernel + ki) * w.Kernel + kj) * plane;
                    int offW = kj * w.Dilation - w.PadBefore;
                    var (lo, hi) = ConvShape.ValidRange(ow, w.Stride, offW, w.In);
                    for (int oy = 0; oy < oh; oy++)
                    {
                        int iy = oy * h.Stride - h.PadBefore + ki * h.Dilation;
                        if ((uint)iy >= (uint)h.In) continue;
                        float* src = row + (long)oy * ow;
                        float* dst = xc + (long)iy * w.In + offW;
                        if (w.Stride == 1) AddInto<TO, TV>(dst + lo, src + lo, hi - lo);
                        else for (int ox = lo; ox < hi; ox++) dst[(long)ox * w.Stride] += src[ox];   // strided scatter: scalar
                    }
                }
        }
    }

    /// <summary>dst[i] += src[i], i &lt; n.</summary>
    internal static void AddInto<TO, TV>(float* dst, float* src, int n) where TO : struct, IVec<TV> where TV : struct
    {
        int i = 0;
        for (; i <= n - TO.Count; i += TO.Count) TO.Store(dst + i, TO.Add(TO.Load(dst + i), TO.Load(src + i)));
        for (; i < n; i++) dst[i] += src[i];
    }

    static void Validate(ConvAxis h, ConvAxis w, int channelStart, int channelCount)
    {
        h.Validate(nameof(h));
        w.Validate(nameof(w));
        if (channelStart < 0 || channelCount < 0) throw new ArgumentOutOfRangeException(nameof(channelStart), $"Channel range [{channelStart}, +{channelCount}) must be non-negative.");
    }
}
