// Pooling kernels on NC(H)W planes: max pool (with argmax indices for backward), average pool
// (count_include_pad = true, ceil_mode = false: PyTorch's defaults) and global average pool,
// each forward and backward; 1-d is the 2-d case with H = KH = 1.
//   x (N, C, H, W) -> y (N, C, OH, OW); indices (N, C, OH, OW) hold iy*W + ix within the plane (PyTorch's).
// Max pool with indices is scalar except for the 2x2 stride-2 window, which has its own vector compare-and-select
// loop; without indices (inference) other windows take MaxPoolNoIndex.cs's two vector passes (along W per input row, then along H). Average pool is a depthwise conv with every tap 1/(KH*KW) and
// shared weights, so it reuses Depthwise's SIMD row kernel (zero padding counts in the divisor,
// exactly count_include_pad). Global average is a vector row sum. Threads split planes.
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Numerics;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Pooling;

/// <summary>Max, average and global average pooling, forward and backward; shapes in the file header.</summary>
[System.Runtime.CompilerServices.SkipLocalsInit]
public static unsafe partial class Pool
{
    const int MinFloatsPerChunk = 16384;
    const int MaxTaps = 4096;

    static int MinChunk(long perItem) => (int)Math.Max(1, MinFloatsPerChunk / Math.Max(1, perItem));

    // ---- max pool ------------------------------------------------------------------------

    /// <summary>
    /// y[n,c,oy,ox] = max over the window (padding is -inf, never chosen), indices = argmax as iy*W + ix
    /// (-1 only for a window entirely in padding, whose y is -inf). A NaN in the window wins, as in PyTorch.
    /// x (planes = N*C, H, W); y, indices (planes, OH, OW). Scalar (see file header). indices may be null when no
    /// backward will run (inference): then only y is written.
    /// </summary>
    public static void MaxForward2d(float* x, float* y, int* indices, int planes, ConvAxis h, ConvAxis w)
        => MaxForward2d(x, y, indices, planes, h, w, Simd.Best);

    /// <inheritdoc cref="MaxForward2d(float*, float*, int*, int, ConvAxis, ConvAxis)"/>
    /// <remarks><paramref name="width"/> picks the vector path of the 2x2 stride-2 window and, without indices, of <see cref="MaxForward2dNoIndex(float*, float*, int, ConvAxis, ConvAxis, SimdWidth)"/>; other windows with indices are scalar.</remarks>
    public static void MaxForward2d(float* x, float* y, int* indices, int planes, ConvAxis h, ConvAxis w, SimdWidth width)
    {
        ValidatePlanes(planes, h, w);
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
        long outLen = (long)planes * h.Out * w.Out;
        KernelArgs.NotNull(x, outLen > 0 ? (long)planes * h.In * w.In : 0, nameof(x)); KernelArgs.NotNull(y, outLen, nameof(y));
        int oh = h.Out, ow = w.Out;
        long inPlane = (long)h.In * w.In, outPlane = (long)oh * ow;
        if (planes == 0 || outPlane == 0) return;
        nint px = (nint)x, py = (nint)y, pi = (nint)indices;
        bool twoByTwo = h.Kernel == 2 && w.Kernel == 2 && h.Stride == 2 && w.Stride == 2 && h.Dilation == 1 && w.Dilation == 1
                        && h.PadBefore + h.PadAfter + w.PadBefore + w.PadAfter == 0;
        // Other windows without indices: the row-vector kernel (MaxPoolNoIndex.cs) beats this scalar loop.
        if (!twoByTwo && indices == null) { MaxForward2dNoIndex(x, y, planes, h, w, width); return; }
        KernelThreads.For(planes, MinChunk(outPlane * h.Kernel * w.Kernel), (p0, p1) =>
        {
            if (twoByTwo)
            {
                for (int p = p0; p < p1; p++)
                {
                    float* xs = (float*)px + p * inPlane, ys = (float*)py + p * outPlane;
                    int* ids = pi == 0 ? null : (int*)pi + p * outPlane;
                    switch (width)
                    {
                        case SimdWidth.V512: Max2x2<V512Ops, Vector512<float>>(xs, ys, ids, w.In, oh, ow); break;
                        case SimdWidth.V256: Max2x2<V256Ops, Vector256<float>>(xs, ys, ids, w.In, oh, ow); break;
                        case SimdWidth.V128: Max2x2<V128Ops, Vector128<float>>(xs, ys, ids, w.In, oh, ow); break;
                        default: Max2x2<ScalarOps, float>(xs, ys, ids, w.In, oh, ow); break;
                    }
                }
                return;
            }
            for (int p = p0; p < p1; p++)
            {
                float* xp = (float*)px + p * inPlane;
                float* yp = (float*)py + p * outPlane;
                int* ip = pi == 0 ? null : (int*)pi + p * outPlane;
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        float m = float.NegativeInfinity;
                        int arg = -1;
                        for (int ki = 0; ki < h.Kernel; ki++)
                        {
                            int iy = oy * h.Stride - h.PadBefore + ki * h.Dilation;
                            if ((uint)iy >= (uint)h.In) continue;
                            for (int kj = 0; kj < w.Kernel; kj++)
                            {
                                int ix = ox * w.Stride - w.PadBefore + kj * w.Dilation;
                                if ((uint)ix >= (uint)w.In) continue;
                                int at = iy * w.In + ix;
                                float v = xp[at];
                                if (arg < 0) arg = at;   // PyTorch starts from the first valid element
                                if (v > m || float.IsNaN(v)) { m = v; arg = at; }
                            }
                        }
                        yp[(long)oy * ow + ox] = m;
                        if (ip != null) ip[(long)oy * ow + ox] = arg;
                    }
            }
        });
    }

    // The 2x2 stride-2 unpadded window (FreesoundCnn's, the common CNN pool), vectorised and branch-free: taps in the
    // reference's order (0,0), (0,1), (1,0), (1,1), a later tap taken when larger or NaN, as compare-and-select on
    // 2*Lanes input columns at a time (Unzip splits even and odd columns). Why: the scalar compare chain mispredicts
    // about every other window on real activations (13 ns an output against 2 ns for predictable data). The winning tap
    // travels as a float code (0, 1, W, W+1; exact) and becomes the index in a scalar pass over the row.
    // x (H, W) plane, y / indices (OH, OW); indices null: values only.
    static void Max2x2<TO, TV>(float* x, float* y, int* indices, int wIn, int oh, int ow)
        where TO : struct, IVec<TV> where TV : struct
    {
        int lanes = TO.Count;
        int vecEnd = ow - ow % lanes;
        TV one = TO.Splat(1f), down = TO.Splat(wIn), downRight = TO.Splat(wIn + 1);
        float* codes = stackalloc float[Math.Max(1, ow)];
        for (int oy = 0; oy < oh; oy++)
        {
            int r0 = 2 * oy * wIn;
            float* a = x + r0, b = a + wIn;
            float* yr = y + (long)oy * ow;
            int ox = 0;
            for (; ox < vecEnd; ox += lanes)
            {
                TO.Unzip(TO.Load(a + 2 * ox), TO.Load(a + 2 * ox + lanes), out var a0, out var a1);
                TO.Unzip(TO.Load(b + 2 * ox), TO.Load(b + 2 * ox + lanes), out var b0, out var b1);
                TV m = a0;
                TV take1 = TO.Or(TO.Gt(a1, m), TO.IsNaN(a1)); m = TO.Select(take1, a1, m);
                TV take2 = TO.Or(TO.Gt(b0, m), TO.IsNaN(b0)); m = TO.Select(take2, b0, m);
                TV take3 = TO.Or(TO.Gt(b1, m), TO.IsNaN(b1)); m = TO.Select(take3, b1, m);
                TO.Store(yr + ox, m);
                if (indices == null) continue;   // values only (inference): no tap codes
                TV code = TO.Select(take1, one, TO.Splat(0f));
                code = TO.Select(take2, down, code);
                code = TO.Select(take3, downRight, code);
                TO.Store(codes + ox, code);
            }
            for (; ox < ow; ox++)
            {
                int j = 2 * ox;
                float m = a[j]; int c = 0;
                float v = a[j + 1]; if (v > m || float.IsNaN(v)) { m = v; c = 1; }
                v = b[j]; if (v > m || float.IsNaN(v)) { m = v; c = wIn; }
                v = b[j + 1]; if (v > m || float.IsNaN(v)) { m = v; c = wIn + 1; }
                yr[ox] = m; codes[ox] = c;
            }
            if (indices == null) continue;
            int* ir = indices + (long)oy * ow;
            for (int o = 0; o < ow; o++) ir[o] = r0 + 2 * o + (int)codes[o];
        }
    }

    /// <summary>1-d max pool: x (planes, L) -> y, indices (planes, OL); indices are positions in L.</summary>
    public static void MaxForward1d(float* x, float* y, int* indices, int planes, ConvAxis l)
        => MaxForward2d(x, y, indices, planes, new ConvAxis(1, 1), l);

    /// <summary>Max pool backward: dx (planes, H, W) = 0, then dx[p, indices[p, o]] += dy[p, o]. dx overwritten; scalar scatter.</summary>
    public static void MaxBackward2d(float* dy, int* indices, float* dx, int planes, ConvAxis h, ConvAxis w)
    {
        ValidatePlanes(planes, h, w);
        long inLen = (long)planes * h.In * w.In, outLen = (long)planes * h.Out * w.Out;
        KernelArgs.NotNull(dy, inLen > 0 ? outLen : 0, nameof(dy)); KernelArgs.NotNull(indices, inLen > 0 ? outLen : 0, nameof(indices)); KernelArgs.NotNull(dx, inLen, nameof(dx));
        long inPlane = (long)h.In * w.In, outPlane = (long)h.Out * w.Out;
        if (planes == 0 || inPlane == 0) return;
        nint pdy = (nint)dy, pi = (nint)indices, pdx = (nint)dx;
        KernelThreads.For(planes, MinChunk(inPlane + outPlane), (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                float* dxp = (float*)pdx + p * inPlane;
                new Span<float>(dxp, (int)inPlane).Clear();
                float* dyp = (float*)pdy + p * outPlane;
                int* ip = (int*)pi + p * outPlane;
                for (long o = 0; o < outPlane; o++)
                {
                    int at = ip[o];
                    if ((ulong)at < (ulong)inPlane) dxp[at] += dyp[o];
                }
            }
        });
    }

    /// <summary>1-d max pool backward; see <see cref="MaxBackward2d"/>.</summary>
    public static void MaxBackward1d(float* dy, int* indices, float* dx, int planes, ConvAxis l)
        => MaxBackward2d(dy, indices, dx, planes, new ConvAxis(1, 1), l);

    // ---- average pool ----------------------------------------------------------------------

    /// <summary>
    /// y = sum over the window / (KH*KW), padding counted as zeros (count_include_pad = true, ceil_mode = false).
    /// x (planes, H, W) -> y (planes, OH, OW), overwritten (y must not alias x). Dilation must be 1.
    /// </summary>
    public static void AvgForward2d(float* x, float* y, int planes, ConvAxis h, ConvAxis w) => AvgForward2d(x, y, planes, h, w, Simd.Best);

    /// <inheritdoc cref="AvgForward2d(float*, float*, int, ConvAxis, ConvAxis)"/>
    public static void AvgForward2d(float* x, float* y, int planes, ConvAxis h, ConvAxis w, SimdWidth width)
    {
        ValidateAvg(planes, h, w, width);
        long outLen = (long)planes * h.Out * w.Out;
        KernelArgs.NotNull(x, outLen > 0 ? (long)planes * h.In * w.In : 0, nameof(x)); KernelArgs.NotNull(y, outLen, nameof(y));
        int kk = h.Kernel * w.Kernel;
        float* taps = stackalloc float[kk];
        new Span<float>(taps, kk).Fill(1f / kk);
        Depthwise.ForwardDispatch(x, taps, 0, y, 1, planes, 1, h, w, width);
    }

    /// <summary>1-d average pool: x (planes, L) -> y (planes, OL).</summary>
    public static void AvgForward1d(float* x, float* y, int planes, ConvAxis l, SimdWidth width) => AvgForward2d(x, y, planes, new ConvAxis(1, 1), l, width);

    /// <inheritdoc cref="AvgForward1d(float*, float*, int, ConvAxis, SimdWidth)"/>
    public static void AvgForward1d(float* x, float* y, int planes, ConvAxis l) => AvgForward2d(x, y, planes, new ConvAxis(1, 1), l, Simd.Best);

    /// <summary>Average pool backward: dx[p, i] = sum over windows containing i of dy / (KH*KW). dx (planes, H, W) overwritten.</summary>
    public static void AvgBackward2d(float* dy, float* dx, int planes, ConvAxis h, ConvAxis w) => AvgBackward2d(dy, dx, planes, h, w, Simd.Best);

    /// <inheritdoc cref="AvgBackward2d(float*, float*, int, ConvAxis, ConvAxis)"/>
    public static void AvgBackward2d(float* dy, float* dx, int planes, ConvAxis h, ConvAxis w, SimdWidth width)
    {
        ValidateAvg(planes, h, w, width);
        long inLen = (long)planes * h.In * w.In;
        KernelArgs.NotNull(dy, inLen > 0 ? (long)planes * h.Out * w.Out : 0, nameof(dy)); KernelArgs.NotNull(dx, inLen, nameof(dx));
        int kk = h.Kernel * w.Kernel;
        float* taps = stackalloc float[kk];
        new Span<float>(taps, kk).Fill(1f / kk);
        Depthwise.BackwardInputDispatch(dy, taps, 0, dx, 1, planes, 1, h, w, width);
    }

    /// <summary>1-d average pool backward: dy (planes, OL) -> dx (planes, L).</summary>
    public static void AvgBackward1d(float* dy, float* dx, int planes, ConvAxis l, SimdWidth width) => AvgBackward2d(dy, dx, planes, new ConvAxis(1, 1), l, width);

    /// <inheritdoc cref="AvgBackward1d(float*, float*, int, ConvAxis, SimdWidth)"/>
    public static void AvgBackward1d(float* dy, float* dx, int planes, ConvAxis l) => AvgBackward2d(dy, dx, planes, new ConvAxis(1, 1), l, Simd.Best);

    // ---- global average pool --------------------------------------------------------------

    /// <summary>y[p] = (1/size) sum_s x[p, s]: x (planes = N*C, size = product of the spatial dims) -> y (planes). size 0 gives NaN (0/0), as PyTorch.</summary>
    public static void GlobalAvgForward(float* x, float* y, int planes, int size) => GlobalAvgForward(x, y, planes, size, Simd.Best);

    /// <inheritdoc cref="GlobalAvgForward(float*, float*, int, int)"/>
    public static void GlobalAvgForward(float* x, float* y, int planes, int size, SimdWidth width)
    {
        ValidateGlobal(planes, size, width);
        KernelArgs.NotNull(x, (long)planes * size, nameof(x)); KernelArgs.NotNull(y, planes, nameof(y));
        nint px = (nint)x, py = (nint)y;
        KernelThreads.For(planes, MinChunk(size), (p0, p1) =>
        {
            switch (width)
            {
                case SimdWidth.V512: GlobalForward<V512Ops, Vector512<float>>((float*)px, (float*)py, p0, p1, size); break;
                case SimdWidth.V256: GlobalForward<V256Ops, Vector256<float>>((float*)px, (float*)py, p0, p1, size); break;
                case SimdWidth.V128: GlobalForward<V128Ops, Vector128<float>>((float*)px, (float*)py, p0, p1, size); break;
                default: GlobalForward<ScalarOps, float>((float*)px, (float*)py, p0, p1, size); break;
            }
        });
    }

    /// <summary>dx[p, s] = dy[p] / size; dx (planes, size) overwritten.</summary>
    public static void GlobalAvgBackward(float* dy, float* dx, int planes, int size) => GlobalAvgBackward(dy, dx, planes, size, Simd.Best);

    /// <inheritdoc cref="GlobalAvgBackward(float*, float*, int, int)"/>
    public static void GlobalAvgBackward(float* dy, float* dx, int planes, int size, SimdWidth width)
    {
        ValidateGlobal(planes, size, width);
        KernelArgs.NotNull(dy, size > 0 ? planes : 0, nameof(dy)); KernelArgs.NotNull(dx, (long)planes * size, nameof(dx));
        nint pdy = (nint)dy, pdx = (nint)dx;
        // A fill is memory-bound; Span.Fill is already vectorised, so no per-width variant is needed.
        KernelThreads.For(planes, MinChunk(size), (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
                new Span<float>((float*)pdx + (long)p * size, size).Fill(((float*)pdy)[p] / size);
        });
    }

    static void GlobalForward<TO, TV>(float* x, float* y, int p0, int p1, int size) where TO : struct, IVec<TV> where TV : struct
    {
        for (int p = p0; p < p1; p++)
        {
            float* r = x + (long)p * size;
            // Four independent accumulators hide the add latency.
            TV a0 = TO.Splat(0f), a1 = a0, a2 = a0, a3 = a0;
            int i = 0, c = TO.Count;
            for (; i <= size - 4 * c; i += 4 * c)
            {
                a0 = TO.Add(a0, TO.Load(r + i));
                a1 = TO.Add(a1, TO.Load(r + i + c));
                a2 = TO.Add(a2, TO.Load(r + i + 2 * c));
                a3 = TO.Add(a3, TO.Load(r + i + 3 * c));
            }
            for (; i <= size - c; i += c) a0 = TO.Add(a0, TO.Load(r + i));
            float s = TO.SumAcross(TO.Add(TO.Add(a0, a1), TO.Add(a2, a3)));
            for (; i < size; i++) s += r[i];
            y[p] = s / size;
        }
    }

    // ---- validation ------------------------------------------------------------------------

    static void ValidatePlanes(int planes, ConvAxis h, ConvAxis w)
    {
        if (planes < 0) throw new ArgumentOutOfRangeException(nameof(planes), planes, "planes (N*C) must be >= 0.");
        h.Validate(nameof(h));
        w.Validate(nameof(w));
    }

    static void ValidateAvg(int planes, ConvAxis h, ConvAxis w, SimdWidth width)
    {
        ValidatePlanes(planes, h, w);
        if (h.Dilation != 1 || w.Dilation != 1) throw new ArgumentException("Average pooling has no dilation (expected 1).", nameof(w));
        if ((long)h.Kernel * w.Kernel > MaxTaps) throw new ArgumentOutOfRangeException(nameof(w), $"Average pool window larger than {MaxTaps} taps; use GlobalAvgForward.");
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
    }

    static void ValidateGlobal(int planes, int size, SimdWidth width)
    {
        if (planes < 0 || size < 0) throw new ArgumentOutOfRangeException(nameof(planes), $"planes ({planes}) and size ({size}) must be >= 0.");
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
    }
}

/// <summary>Plain scalar references for <see cref="Pool"/> (double accumulation), used by the tests.</summary>
public static unsafe class PoolReference
{
    /// <summary>Same contract as <see cref="Pool.MaxForward2d(float*, float*, int*, int, ConvAxis, ConvAxis)"/>.</summary>
    public static void MaxForward2d(float* x, float* y, int* indices, int planes, ConvAxis h, ConvAxis w)
    {
        int oh = h.Out, ow = w.Out;
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    float m = float.NegativeInfinity;
                    int arg = -1;
                    for (int ki = 0; ki < h.Kernel; ki++)
                        for (int kj = 0; kj < w.Kernel; kj++)
                        {
                            int iy = ConvReference.InputIndex(h, oy, ki), ix = ConvReference.InputIndex(w, ox, kj);
                            if (iy < 0 || ix < 0) continue;
                            float v = x[(long)p * h.In * w.In + iy * w.In + ix];
                            if (arg < 0) arg = iy * w.In + ix;
                            if (v > m || float.IsNaN(v)) { m = v; arg = iy * w.In + ix; }
                        }
                    long o = ((long)p * oh + oy) * ow + ox;
                    y[o] = m;
                    indices[o] = arg;
                }
    }

    /// <summary>Average pool (count_include_pad) forward in double.</summary>
    public static void AvgForward2d(float* x, float* y, int planes, ConvAxis h, ConvAxis w)
    {
        int oh = h.Out, ow = w.Out;
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    double s = 0;
                    for (int ki = 0; ki < h.Kernel; ki++)
                        for (int kj = 0; kj < w.Kernel; kj++)
                        {
                            int iy = ConvReference.InputIndex(h, oy, ki), ix = ConvReference.InputIndex(w, ox, kj);
                            if (iy >= 0 && ix >= 0) s += x[(long)p * h.In * w.In + iy * w.In + ix];
                        }
                    y[((long)p * oh + oy) * ow + ox] = (float)(s / (h.Kernel * w.Kernel));
                }
    }

    /// <summary>Average pool backward in double: each dy spreads dy/(KH*KW) over its window; dx overwritten.</summary>
    public static void AvgBackward2d(float* dy, float* dx, int planes, ConvAxis h, ConvAxis w)
    {
        int oh = h.Out, ow = w.Out;
        var acc = new double[(long)planes * h.In * w.In];
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int ki = 0; ki < h.Kernel; ki++)
                        for (int kj = 0; kj < w.Kernel; kj++)
                        {
                            int iy = ConvReference.InputIndex(h, oy, ki), ix = ConvReference.InputIndex(w, ox, kj);
                            if (iy >= 0 && ix >= 0)
                                acc[(long)p * h.In * w.In + iy * w.In + ix] += (double)dy[((long)p * oh + oy) * ow + ox] / (h.Kernel * w.Kernel);
                        }
        for (long i = 0; i < acc.Length; i++) dx[i] = (float)acc[i];
    }

    /// <summary>Global average in double.</summary>
    public static void GlobalAvgForward(float* x, float* y, int planes, int size)
    {
        for (int p = 0; p < planes; p++)
        {
            double s = 0;
            for (int i = 0; i < size; i++) s += x[(long)p * size + i];
            y[p] = (float)(s / size);
        }
    }
}
