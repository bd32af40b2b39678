// Direct depthwise convolution (groups == channels, channel multiplier M >= 1), 1-d and 2-d,
// forward, input gradient and weight gradient, with stride, asymmetric padding and dilation.
//   x (N, C, H, W), weight (C*M, KH, KW) [PyTorch (C*M, 1, KH, KW)], y (N, C*M, OH, OW);
//   output channel oc reads input channel oc / M. 1-d: H = KH = 1.
//   y / dy may also be channel-major (C*M, N, OH*OW) (PlaneStrides; the *ChannelMajor entry points), the layout a
//   separable block's pointwise GEMM reads; the bodies only differ in where a plane starts.
// Everything reduces to one row primitive, y[o] (+)= sum_k taps[k] * x[o*stride + off_k]:
//  * the interior outputs (all taps inside the input) run as a SIMD loop over o with one
//    vector FMA per tap; the few edge outputs that touch padding run scalar with bounds checks;
//  * stride > 1 deinterleaves the input row into `stride` phase rows first (vector unzip for
//    stride 2, scalar otherwise), so tap k reads phase[(off_k mod s)][o + off_k div s] contiguously
//    and the same SIMD loop applies. This is what makes WaveKws' k3 stride-2 conv1d vectorised;
//  * the input gradient with stride 1 is the same row primitive with mirrored tap offsets; with
//    stride > 1 it is one vector axpy per tap into phase rows, interleaved back (vector zip for 2);
//  * the weight gradient is one vector dot per tap and row, over the same phase rows;
//  * rows longer than MaxPhaseFloats with stride > 1 fall back to scalar loops (documented).
// Threads split output planes (forward), input planes (input grad; the M output channels of an
// input channel are summed inside one task) and output channels (weight grad; summed over N in a
// fixed order), so results do not depend on the thread count.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Conv;

/// <summary>Depthwise conv1d/conv2d (groups = channels, multiplier M) forward and backward; shapes in the file header.</summary>
[SkipLocalsInit]
public static unsafe class Depthwise
{
    // Largest input row deinterleaved on the stack (floats); longer strided rows use the scalar interior.
    const int MaxPhaseFloats = 8192;
    const int MaxTaps = 256;
    const int MinFloatsPerChunk = 8192;

    // ---- public API -------------------------------------------------------------------------

    /// <summary>y[n, oc, oy, ox] = sum_{ki,kj} w[oc, ki, kj] x[n, oc/M, oy*sh - pt + ki*dh, ox*sw - pl + kj*dw] (0 outside). y overwritten; y must not alias x.</summary>
    public static void Forward2d(float* x, float* weight, float* y, int n, int channels, int multiplier, ConvAxis h, ConvAxis w)
        => Forward2d(x, weight, y, n, channels, multiplier, h, w, Simd.Best);

    /// <inheritdoc cref="Forward2d(float*, float*, float*, int, int, int, ConvAxis, ConvAxis)"/>
    public static void Forward2d(float* x, float* weight, float* y, int n, int channels, int multiplier, ConvAxis h, ConvAxis w, SimdWidth width)
        => Forward(x, weight, y, n, channels, multiplier, h, w, width, yStrides: null);

    /// <summary>Depthwise conv1d: x (N, C, L), weight (C*M, K), y (N, C*M, OL). y overwritten.</summary>
    public static void Forward1d(float* x, float* weight, float* y, int n, int channels, int multiplier, ConvAxis l, SimdWidth width)
        => Forward2d(x, weight, y, n, channels, multiplier, new ConvAxis(1, 1), l, width);

    /// <inheritdoc cref="Forward1d(float*, float*, float*, int, int, int, ConvAxis, SimdWidth)"/>
    public static void Forward1d(float* x, float* weight, float* y, int n, int channels, int multiplier, ConvAxis l)
        => Forward2d(x, weight, y, n, channels, multiplier, new ConvAxis(1, 1), l, Simd.Best);

    /// <summary>
    /// Depthwise conv1d with a channel-major output: x (N, C, L), weight (C*M, K) -> y (C*M, N, OL) (y[oc, n, :] is
    /// what <see cref="Forward1d(float*, float*, float*, int, int, int, ConvAxis, SimdWidth)"/> writes to y[n, oc, :]).
    /// Why: a separable block's 1x1 conv runs as one GEMM on exactly this (C, N*OL) layout.
    /// </summary>
    public static void Forward1dChannelMajor(float* x, float* weight, float* y, int n, int channels, int multiplier, ConvAxis l, SimdWidth width)
        => Forward(x, weight, y, n, channels, multiplier, new ConvAxis(1, 1), l, width, PlaneStrides.ChannelMajor(n, l.Out));

    /// <summary>Input gradient: dx (N, C, H, W) = sum over the M output channels of each input channel of W^T dy. dx overwritten.</summary>
    public static void BackwardInput2d(float* dy, float* weight, float* dx, int n, int channels, int multiplier, ConvAxis h, ConvAxis w)
        => BackwardInput2d(dy, weight, dx, n, channels, multiplier, h, w, Simd.Best);

    /// <inheritdoc cref="BackwardInput2d(float*, float*, float*, int, int, int, ConvAxis, ConvAxis)"/>
    public static void BackwardInput2d(float* dy, float* weight, float* dx, int n, int channels, int multiplier, ConvAxis h, ConvAxis w, SimdWidth width)
        => BackwardInput(dy, weight, dx, n, channels, multiplier, h, w, width, dyStrides: null);

    /// <summary>1-d input gradient: dy (N, C*M, OL), weight (C*M, K) -> dx (N, C, L), overwritten.</summary>
    public static void BackwardInput1d(float* dy, float* weight, float* dx, int n, int channels, int multiplier, ConvAxis l, SimdWidth width)
        => BackwardInput2d(dy, weight, dx, n, channels, multiplier, new ConvAxis(1, 1), l, width);

    /// <inheritdoc cref="BackwardInput1d(float*, float*, float*, int, int, int, ConvAxis, SimdWidth)"/>
    public static void BackwardInput1d(float* dy, float* weight, float* dx, int n, int channels, int multiplier, ConvAxis l)
        => BackwardInput2d(dy, weight, dx, n, channels, multiplier, new ConvAxis(1, 1), l, Simd.Best);

    /// <summary>Input gradient of <see cref="Forward1dChannelMajor"/>: dy (C*M, N, OL), weight (C*M, K) -> dx (N, C, L), overwritten.</summary>
    public static void BackwardInput1dChannelMajor(float* dy, float* weight, float* dx, int n, int channels, int multiplier, ConvAxis l, SimdWidth width)
        => BackwardInput(dy, weight, dx, n, channels, multiplier, new ConvAxis(1, 1), l, width, PlaneStrides.ChannelMajor(n, l.Out));

    /// <summary>Weight gradient: dweight[oc, ki, kj] = sum_{n, oy, ox} dy[n, oc, oy, ox] x[n, oc/M, iy, ix]; dweight (C*M, KH, KW) overwritten.</summary>
    public static void BackwardWeight2d(float* x, float* dy, float* dweight, int n, int channels, int multiplier, ConvAxis h, ConvAxis w)
        => BackwardWeight2d(x, dy, dweight, n, channels, multiplier, h, w, Simd.Best);

    /// <inheritdoc cref="BackwardWeight2d(float*, float*, float*, int, int, int, ConvAxis, ConvAxis)"/>
    public static void BackwardWeight2d(float* x, float* dy, float* dweight, int n, int channels, int multiplier, ConvAxis h, ConvAxis w, SimdWidth width)
        => BackwardWeight(x, dy, dweight, n, channels, multiplier, h, w, width, dyStrides: null);

    /// <summary>1-d weight gradient: x (N, C, L), dy (N, C*M, OL) -> dweight (C*M, K), overwritten.</summary>
    public static void BackwardWeight1d(float* x, float* dy, float* dweight, int n, int channels, int multiplier, ConvAxis l, SimdWidth width)
        => BackwardWeight2d(x, dy, dweight, n, channels, multiplier, new ConvAxis(1, 1), l, width);

    /// <inheritdoc cref="BackwardWeight1d(float*, float*, float*, int, int, int, ConvAxis, SimdWidth)"/>
    public static void BackwardWeight1d(float* x, float* dy, float* dweight, int n, int channels, int multiplier, ConvAxis l)
        => BackwardWeight2d(x, dy, dweight, n, channels, multiplier, new ConvAxis(1, 1), l, Simd.Best);

    /// <summary>Weight gradient of <see cref="Forward1dChannelMajor"/>: x (N, C, L), dy (C*M, N, OL) -> dweight (C*M, K), overwritten.</summary>
    public static void BackwardWeight1dChannelMajor(float* x, float* dy, float* dweight, int n, int channels, int multiplier, ConvAxis l, SimdWidth width)
        => BackwardWeight(x, dy, dweight, n, channels, multiplier, new ConvAxis(1, 1), l, width, PlaneStrides.ChannelMajor(n, l.Out));

    // ---- validation and dispatch (y / dy layout: null = NCHW, else its PlaneStrides) ---------

    static void Forward(float* x, float* weight, float* y, int n, int channels, int multiplier, ConvAxis h, ConvAxis w, SimdWidth width, PlaneStrides? yStrides)
    {
        Validate(n, channels, multiplier, h, w, width);
        long inLen = (long)n * channels * h.In * w.In, outLen = (long)n * channels * multiplier * h.Out * w.Out, wLen = (long)channels * multiplier * h.Kernel * w.Kernel;
        KernelArgs.NotNull(x, outLen > 0 ? inLen : 0, nameof(x)); KernelArgs.NotNull(weight, outLen > 0 ? wLen : 0, nameof(weight)); KernelArgs.NotNull(y, outLen, nameof(y));
        ForwardDispatch(x, weight, (long)h.Kernel * w.Kernel, y, n, channels, multiplier, h, w, width, yStrides);
    }

    /// <summary>Forward with weight channel stride <paramref name="wcs"/> (0: every channel shares one tap set, as average pooling does).</summary>
    internal static void ForwardDispatch(float* x, float* weight, long wcs, float* y, int n, int channels, int multiplier, ConvAxis h, ConvAxis w, SimdWidth width,
        PlaneStrides? yStrides = null)
    {
        var ys = yStrides ?? OutputNchw(channels, multiplier, h, w);
        switch (width)
        {
            case SimdWidth.V512: ForwardImpl<V512Ops, Vector512<float>>(x, weight, wcs, y, n, channels, multiplier, h, w, ys); break;
            case SimdWidth.V256: ForwardImpl<V256Ops, Vector256<float>>(x, weight, wcs, y, n, channels, multiplier, h, w, ys); break;
            case SimdWidth.V128: ForwardImpl<V128Ops, Vector128<float>>(x, weight, wcs, y, n, channels, multiplier, h, w, ys); break;
            default: ForwardImpl<ScalarOps, float>(x, weight, wcs, y, n, channels, multiplier, h, w, ys); break;
        }
    }

    static void BackwardInput(float* dy, float* weight, float* dx, int n, int channels, int multiplier, ConvAxis h, ConvAxis w, SimdWidth width, PlaneStrides? dyStrides)
    {
        Validate(n, channels, multiplier, h, w, width);
        long inLen = (long)n * channels * h.In * w.In, outLen = (long)n * channels * multiplier * h.Out * w.Out, wLen = (long)channels * multiplier * h.Kernel * w.Kernel;
        KernelArgs.NotNull(dy, inLen > 0 ? outLen : 0, nameof(dy)); KernelArgs.NotNull(weight, inLen > 0 && outLen > 0 ? wLen : 0, nameof(weight)); KernelArgs.NotNull(dx, inLen, nameof(dx));
        BackwardInputDispatch(dy, weight, (long)h.Kernel * w.Kernel, dx, n, channels, multiplier, h, w, width, dyStrides);
    }

    /// <summary>Input gradient with weight channel stride <paramref name="wcs"/> (0: shared taps, as average pooling).</summary>
    internal static void BackwardInputDispatch(float* dy, float* weight, long wcs, float* dx, int n, int channels, int multiplier, ConvAxis h, ConvAxis w, SimdWidth width,
        PlaneStrides? dyStrides = null)
    {
        var ds = dyStrides ?? OutputNchw(channels, multiplier, h, w);
        switch (width)
        {
            case SimdWidth.V512: BackwardInputImpl<V512Ops, Vector512<float>>(dy, weight, wcs, dx, n, channels, multiplier, h, w, ds); break;
            case SimdWidth.V256: BackwardInputImpl<V256Ops, Vector256<float>>(dy, weight, wcs, dx, n, channels, multiplier, h, w, ds); break;
            case SimdWidth.V128: BackwardInputImpl<V128Ops, Vector128<float>>(dy, weight, wcs, dx, n, channels, multiplier, h, w, ds); break;
            default: BackwardInputImpl<ScalarOps, float>(dy, weight, wcs, dx, n, channels, multiplier, h, w, ds); break;
        }
    }

    static void BackwardWeight(float* x, float* dy, float* dweight, int n, int channels, int multiplier, ConvAxis h, ConvAxis w, SimdWidth width, PlaneStrides? dyStrides)
    {
        Validate(n, channels, multiplier, h, w, width);
        long inLen = (long)n * channels * h.In * w.In, outLen = (long)n * channels * multiplier * h.Out * w.Out, wLen = (long)channels * multiplier * h.Kernel * w.Kernel;
        KernelArgs.NotNull(x, outLen > 0 ? inLen : 0, nameof(x)); KernelArgs.NotNull(dy, outLen, nameof(dy)); KernelArgs.NotNull(dweight, wLen, nameof(dweight));
        var ds = dyStrides ?? OutputNchw(channels, multiplier, h, w);
        switch (width)
        {
            case SimdWidth.V512: BackwardWeightImpl<V512Ops, Vector512<float>>(x, dy, dweight, n, channels, multiplier, h, w, ds); break;
            case SimdWidth.V256: BackwardWeightImpl<V256Ops, Vector256<float>>(x, dy, dweight, n, channels, multiplier, h, w, ds); break;
            case SimdWidth.V128: BackwardWeightImpl<V128Ops, Vector128<float>>(x, dy, dweight, n, channels, multiplier, h, w, ds); break;
            default: BackwardWeightImpl<ScalarOps, float>(x, dy, dweight, n, channels, multiplier, h, w, ds); break;
        }
    }

    /// <summary>y / dy as (N, C*M, OH, OW).</summary>
    static PlaneStrides OutputNchw(int channels, int multiplier, ConvAxis h, ConvAxis w) => PlaneStrides.Nchw(channels * multiplier, (long)h.Out * w.Out);

    // ---- implementations -------------------------------------------------------------------

    static void ForwardImpl<TO, TV>(float* x, float* weight, long wcs, float* y, int n, int channels, int mult, ConvAxis h, ConvAxis w, PlaneStrides ys)
        where TO : struct, IVec<TV> where TV : struct
    {
        int oh = h.Out, ow = w.Out, cout = channels * mult, kk = h.Kernel * w.Kernel;
        long inPlane = (long)h.In * w.In, outPlane = (long)oh * ow;
        if (n == 0 || cout == 0 || outPlane == 0) return;
        nint px = (nint)x, pw = (nint)weight, py = (nint)y;
        KernelThreads.For(n * cout, MinChunk(outPlane * kk), (p0, p1) =>
        {
            float* phase = stackalloc float[w.Stride > 1 && w.In + w.Stride <= MaxPhaseFloats ? w.In + w.Stride : 1];
            bool usePhase = w.Stride > 1 && w.In + w.Stride <= MaxPhaseFloats;
            for (int p = p0; p < p1; p++)
            {
                int b = p / cout, oc = p % cout;
                float* xp = (float*)px + ((long)b * channels + oc / mult) * inPlane;
                float* wk = (float*)pw + oc * wcs;
                float* yp = (float*)py + b * ys.Image + oc * ys.Channel;
                for (int oy = 0; oy < oh; oy++)
                {
                    float* yr = yp + (long)oy * ow;
                    bool first = true;
                    for (int ki = 0; ki < h.Kernel; ki++)
                    {
                        int iy = oy * h.Stride - h.PadBefore + ki * h.Dilation;
                        if ((uint)iy >= (uint)h.In) continue;
                        Row<TO, TV>(xp + (long)iy * w.In, w.In, wk + ki * w.Kernel, w.Kernel, w.Stride, -w.PadBefore, w.Dilation,
                            yr, ow, !first, usePhase ? phase : null);
                        first = false;
                    }
                    if (first) new Span<float>(yr, ow).Clear();
                }
            }
        });
    }

    static void BackwardInputImpl<TO, TV>(float* dy, float* weight, long wcs, float* dx, int n, int channels, int mult, ConvAxis h, ConvAxis w, PlaneStrides ys)
        where TO : struct, IVec<TV> where TV : struct
    {
        int oh = h.Out, ow = w.Out, kk = h.Kernel * w.Kernel;
        long inPlane = (long)h.In * w.In, outPlane = (long)oh * ow;
        if (n == 0 || channels == 0 || inPlane == 0) return;
        nint pdy = (nint)dy, pw = (nint)weight, pdx = (nint)dx;
        bool usePhase = w.Stride > 1 && w.In + w.Stride <= MaxPhaseFloats;
        KernelThreads.For(n * channels, MinChunk(outPlane * kk * mult + inPlane), (p0, p1) =>
        {
            float* phase = stackalloc float[usePhase ? w.In + w.Stride : 1];
            for (int p = p0; p < p1; p++)
            {
                int b = p / channels, c = p % channels;
                float* dxp = (float*)pdx + (long)p * inPlane;
                new Span<float>(dxp, (int)inPlane).Clear();
                for (int m = 0; m < mult; m++)
                {
                    int oc = c * mult + m;
                    float* dyp = (float*)pdy + b * ys.Image + oc * ys.Channel;
                    float* wk = (float*)pw + oc * wcs;
                    for (int oy = 0; oy < oh; oy++)
                        for (int ki = 0; ki < h.Kernel; ki++)
                        {
                            int iy = oy * h.Stride - h.PadBefore + ki * h.Dilation;
                            if ((uint)iy >= (uint)h.In) continue;
                            float* dxr = dxp + (long)iy * w.In, dyr = dyp + (long)oy * ow, taps = wk + ki * w.Kernel;
                            if (w.Stride == 1)
                                // dx[i] += sum_k taps[k] dy[i + pl - k*d]: the forward row with mirrored offsets.
                                Row<TO, TV>(dyr, ow, taps, w.Kernel, 1, w.PadBefore, -w.Dilation, dxr, w.In, true, null);
                            else if (usePhase)
                            {
                                // dx[o*s + off_t] += taps[t] dy[o] is an axpy into phase row (off_t mod s) at
                                // shift (off_t div s); the phases are then interleaved back into dx.
                                int plen = (w.In + w.Stride - 1) / w.Stride;
                                new Span<float>(phase, plen * w.Stride).Clear();
                                for (int t = 0; t < w.Kernel; t++)
                                {
                                    int off = t * w.Dilation - w.PadBefore;
                                    var (lo, hi) = ConvShape.ValidRange(ow, w.Stride, off, w.In);
                                    int ph = ((off % w.Stride) + w.Stride) % w.Stride, q = (off - ph) / w.Stride;
                                    Axpy<TO, TV>(taps[t], dyr + lo, phase + ph * plen + q + lo, hi - lo);
                                }
                                InterleaveAdd<TO, TV>(phase, w.Stride, dxr, w.In);
                            }
                            else
                                ScatterRow(dyr, ow, taps, w.Kernel, w.Stride, -w.PadBefore, w.Dilation, dxr, w.In);   // very long rows: scalar
                        }
                }
            }
        });
    }

    static void BackwardWeightImpl<TO, TV>(float* x, float* dy, float* dweight, int n, int channels, int mult, ConvAxis h, ConvAxis w, PlaneStrides ys)
        where TO : struct, IVec<TV> where TV : struct
    {
        int oh = h.Out, ow = w.Out, cout = channels * mult, kk = h.Kernel * w.Kernel;
        long inPlane = (long)h.In * w.In, outPlane = (long)oh * ow;
        if (cout == 0) return;
        nint px = (nint)x, pdy = (nint)dy, pw = (nint)dweight;
        bool strided = w.Stride > 1;
        bool fits = w.Kernel <= MaxTaps && (!strided || w.In + w.Stride <= MaxPhaseFloats);
        KernelThreads.For(cout, MinChunk(outPlane * kk * Math.Max(n, 1)), (o0, o1) =>
        {
            float* phase = stackalloc float[fits && strided ? w.In + w.Stride : 1];
            nint* bases = stackalloc nint[fits ? w.Kernel : 1];
            int* lo = stackalloc int[w.Kernel];
            int* hi = stackalloc int[w.Kernel];
            float* acc = stackalloc float[kk];
            for (int kj = 0; kj < w.Kernel; kj++)
                (lo[kj], hi[kj]) = ConvShape.ValidRange(ow, w.Stride, kj * w.Dilation - w.PadBefore, w.In);
            for (int oc = o0; oc < o1; oc++)
            {
                new Span<float>(acc, kk).Clear();
                // Fixed order over (n, oy, ki): one dot per tap and row, each row deinterleaved once.
                for (int b = 0; b < n; b++)
                {
                    float* xp = (float*)px + ((long)b * channels + oc / mult) * inPlane;
                    float* dyp = (float*)pdy + b * ys.Image + oc * ys.Channel;
                    for (int oy = 0; oy < oh; oy++)
                        for (int ki = 0; ki < h.Kernel; ki++)
                        {
                            int iy = oy * h.Stride - h.PadBefore + ki * h.Dilation;
                            if ((uint)iy >= (uint)h.In) continue;
                            float* dyr = dyp + (long)oy * ow, xr = xp + (long)iy * w.In;
                            float* a = acc + ki * w.Kernel;
                            if (fits)
                            {
                                TapBases<TO, TV>(xr, w.In, w.Kernel, w.Stride, -w.PadBefore, w.Dilation, phase, bases);
                                for (int kj = 0; kj < w.Kernel; kj++)
                                    a[kj] += Dot<TO, TV>(dyr + lo[kj], (float*)bases[kj] + lo[kj], hi[kj] - lo[kj]);
                            }
                            else
                            {
                                for (int kj = 0; kj < w.Kernel; kj++)   // very long strided rows: scalar
                                {
                                    float s = 0f;
                                    int off = kj * w.Dilation - w.PadBefore;
                                    for (int o = lo[kj]; o < hi[kj]; o++) s += dyr[o] * xr[(long)o * w.Stride + off];
                                    a[kj] += s;
                                }
                            }
                        }
                }
                new Span<float>(acc, kk).CopyTo(new Span<float>((float*)pw + (long)oc * kk, kk));
            }
        });
    }

    // ---- the row primitive -----------------------------------------------------------------

    /// <summary>
    /// y[o] (+)= sum_k taps[k] x[o*stride + offBase + k*offStep] for o &lt; yLen, reading 0 outside [0, xLen).
    /// phase: scratch of xLen + stride floats for stride &gt; 1, or null to run the strided interior scalar.
    /// </summary>
    static void Row<TO, TV>(float* x, int xLen, float* taps, int k, int stride, int offBase, int offStep, float* y, int yLen, bool acc, float* phase)
        where TO : struct, IVec<TV> where TV : struct
    {
        // Interior [lo, hi): outputs for which every tap is inside the input.
        int lo = 0, hi = yLen;
        for (int t = 0; t < k; t++)
        {
            var (l, u) = ConvShape.ValidRange(yLen, stride, offBase + t * offStep, xLen);
            lo = Math.Max(lo, l);
            hi = Math.Min(hi, u);
        }
        if (hi < lo) hi = lo;
        EdgeRow(x, xLen, taps, k, stride, offBase, offStep, y, 0, lo, acc);
        EdgeRow(x, xLen, taps, k, stride, offBase, offStep, y, hi, yLen, acc);
        if (hi == lo) return;

        if (k > MaxTaps || (stride > 1 && phase == null))
        {
            EdgeRow(x, xLen, taps, k, stride, offBase, offStep, y, lo, hi, acc);   // scalar interior
            return;
        }
        nint* bases = stackalloc nint[k];
        TapBases<TO, TV>(x, xLen, k, stride, offBase, offStep, phase, bases);
        Interior<TO, TV>(bases, taps, k, y, lo, hi, acc);
    }

    /// <summary>
    /// Fills bases so that bases[t][o] = x[o*stride + offBase + t*offStep] wherever that index is inside x.
    /// Stride 1 points into x; stride &gt; 1 first deinterleaves x into `stride` phase rows of phase
    /// (xLen + stride floats): phase row p holds x[j*stride + p].
    /// </summary>
    static void TapBases<TO, TV>(float* x, int xLen, int k, int stride, int offBase, int offStep, float* phase, nint* bases)
        where TO : struct, IVec<TV> where TV : struct
    {
        if (stride == 1)
        {
            for (int t = 0; t < k; t++) bases[t] = (nint)(x + offBase + t * offStep);
            return;
        }
        // Stride 2 (WaveKws) deinterleaves with vector unzips; other strides with a scalar pass.
        int plen = (xLen + stride - 1) / stride;
        int done = 0;
        if (stride == 2)
        {
            float* ev = phase, od = phase + plen;
            for (; 2 * (done + TO.Count) <= xLen; done += TO.Count)
            {
                TO.Unzip(TO.Load(x + 2 * done), TO.Load(x + 2 * done + TO.Count), out TV e, out TV o);
                TO.Store(ev + done, e);
                TO.Store(od + done, o);
            }
        }
        for (int p = 0; p < stride; p++)
        {
            float* dst = phase + p * plen;
            for (int j = done, i = done * stride + p; i < xLen; j++, i += stride) dst[j] = x[i];
        }
        for (int t = 0; t < k; t++)
        {
            int off = offBase + t * offStep;
            int p = ((off % stride) + stride) % stride, q = (off - p) / stride;
            bases[t] = (nint)(phase + p * plen + q);
        }
    }

    /// <summary>x[j*stride + p] += phase[p*plen + j] for every j, p: the inverse of the deinterleave, accumulating.</summary>
    static void InterleaveAdd<TO, TV>(float* phase, int stride, float* x, int xLen) where TO : struct, IVec<TV> where TV : struct
    {
        int plen = (xLen + stride - 1) / stride, done = 0;
        if (stride == 2)
        {
            float* ev = phase, od = phase + plen;
            for (; 2 * (done + TO.Count) <= xLen; done += TO.Count)
            {
                TO.Zip(TO.Load(ev + done), TO.Load(od + done), out TV lo, out TV hi);
                float* d = x + 2 * done;
                TO.Store(d, TO.Add(TO.Load(d), lo));
                TO.Store(d + TO.Count, TO.Add(TO.Load(d + TO.Count), hi));
            }
        }
        for (int p = 0; p < stride; p++)
        {
            float* src = phase + p * plen;
            for (int j = done, i = done * stride + p; i < xLen; j++, i += stride) x[i] += src[j];
        }
    }

    /// <summary>sum_i a[i] b[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Dot<TO, TV>(float* a, float* b, int len) where TO : struct, IVec<TV> where TV : struct
    {
        int i = 0;
        TV acc = TO.Splat(0f);
        for (; i <= len - TO.Count; i += TO.Count) acc = TO.MulAdd(TO.Load(a + i), TO.Load(b + i), acc);
        float s = TO.SumAcross(acc);
        for (; i < len; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>y[i] += alpha x[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Axpy<TO, TV>(float alpha, float* x, float* y, int len) where TO : struct, IVec<TV> where TV : struct
    {
        int i = 0;
        TV va = TO.Splat(alpha);
        for (; i <= len - TO.Count; i += TO.Count) TO.Store(y + i, TO.MulAdd(va, TO.Load(x + i), TO.Load(y + i)));
        for (; i < len; i++) y[i] += alpha * x[i];
    }

    /// <summary>y[o] (+)= sum_t taps[t] bases[t][o] for o in [lo, hi): the SIMD hot loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Interior<TO, TV>(nint* bases, float* taps, int k, float* y, int lo, int hi, bool acc)
        where TO : struct, IVec<TV> where TV : struct
    {
        int o = lo;
        if (k == 3)
        {
            // WaveKws' k3 case: taps kept in registers, three loads and FMAs per vector of outputs.
            float* b0 = (float*)bases[0], b1 = (float*)bases[1], b2 = (float*)bases[2];
            TV w0 = TO.Splat(taps[0]), w1 = TO.Splat(taps[1]), w2 = TO.Splat(taps[2]);
            for (; o <= hi - TO.Count; o += TO.Count)
            {
                TV a = acc ? TO.Load(y + o) : TO.Splat(0f);
                a = TO.MulAdd(w0, TO.Load(b0 + o), a);
                a = TO.MulAdd(w1, TO.Load(b1 + o), a);
                a = TO.MulAdd(w2, TO.Load(b2 + o), a);
                TO.Store(y + o, a);
            }
        }
        else
        {
            for (; o <= hi - TO.Count; o += TO.Count)
            {
                TV a = acc ? TO.Load(y + o) : TO.Splat(0f);
                for (int t = 0; t < k; t++) a = TO.MulAdd(TO.Splat(taps[t]), TO.Load((float*)bases[t] + o), a);
                TO.Store(y + o, a);
            }
        }
        for (; o < hi; o++)
        {
            float s = acc ? y[o] : 0f;
            for (int t = 0; t < k; t++) s += taps[t] * ((float*)bases[t])[o];
            y[o] = s;
        }
    }

    /// <summary>Scalar form of the row primitive with bounds checks, for outputs [o0, o1).</summary>
    static void EdgeRow(float* x, int xLen, float* taps, int k, int stride, int offBase, int offStep, float* y, int o0, int o1, bool acc)
    {
        for (int o = o0; o < o1; o++)
        {
            float s = acc ? y[o] : 0f;
            for (int t = 0; t < k; t++)
            {
                long i = (long)o * stride + offBase + t * offStep;
                if ((ulong)i < (ulong)xLen) s += taps[t] * x[i];
            }
            y[o] = s;
        }
    }

    /// <summary>dx[o*stride + offBase + t*offStep] += taps[t] dy[o] (transposed row, stride &gt; 1): scalar scatter.</summary>
    static void ScatterRow(float* dy, int dyLen, float* taps, int k, int stride, int offBase, int offStep, float* dx, int dxLen)
    {
        for (int o = 0; o < dyLen; o++)
        {
            float g = dy[o];
            for (int t = 0; t < k; t++)
            {
                long i = (long)o * stride + offBase + t * offStep;
                if ((ulong)i < (ulong)dxLen) dx[i] += taps[t] * g;
            }
        }
    }

    static int MinChunk(long floatsPerItem) => (int)Math.Max(1, MinFloatsPerChunk / Math.Max(1, floatsPerItem));

    static void Validate(int n, int channels, int multiplier, ConvAxis h, ConvAxis w, SimdWidth width)
    {
        if (n < 0 || channels < 0 || multiplier < 1)
            throw new ArgumentOutOfRangeException(nameof(n), $"Expected n >= 0, channels >= 0, multiplier >= 1; got {n}, {channels}, {multiplier}.");
        h.Validate(nameof(h));
        w.Validate(nameof(w));
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
    }
}
