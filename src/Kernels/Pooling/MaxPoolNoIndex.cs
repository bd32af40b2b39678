// Max pool without argmax indices, for inference (nothing will call backward). Per plane, two vector passes:
//  1. along W: hm[iy, ox] = the max over the window's KW taps of input row iy, for every input row and output column.
//     The row is copied into a buffer with -inf where windows read padding (-inf is never taken, as a skipped tap);
//     stride 1 reads tap kj at offset kj*d of that buffer, stride s > 1 first deinterleaves it into s phase rows, so tap
//     kj reads phase (kj*d mod s) at shift (kj*d div s): contiguous vectors along ox either way;
//  2. along H: y[oy, ox] = the max over the window's valid rows of hm[iy, ox] (-inf when none is valid).
// Every step is the reference's rule - a later value is taken when it is larger or NaN - in the reference's tap order
// (ki, then kj). Folding each row first and then the rows gives exactly the reference's sequential scan, so y equals
// Pool.MaxForward2d's values bit for bit: the last NaN in tap order wins, among equal values the first is kept
// (-0 vs +0 as the reference), padding is never chosen. Why two passes: each input row is reduced along W once for
// all the output rows that read it, and no pass carries index bookkeeping.
//   x (planes = N*C, H, W) -> y (planes, OH, OW); per-thread scratch: hm (H, OW), the padded row, its phases, tap offsets.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Numerics;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Pooling;

public static unsafe partial class Pool
{
    /// <summary>y = max over each window (see the file header); the values of <see cref="MaxForward2d(float*, float*, int*, int, ConvAxis, ConvAxis)"/> without its indices.</summary>
    public static void MaxForward2dNoIndex(float* x, float* y, int planes, ConvAxis h, ConvAxis w)
        => MaxForward2dNoIndex(x, y, planes, h, w, Simd.Best);

    /// <inheritdoc cref="MaxForward2dNoIndex(float*, float*, int, ConvAxis, ConvAxis)"/>
    public static void MaxForward2dNoIndex(float* x, float* y, int planes, ConvAxis h, ConvAxis w, SimdWidth width)
    {
        ValidatePlanes(planes, h, w);
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
        long outLen = (long)planes * h.Out * w.Out;
        KernelArgs.NotNull(x, outLen > 0 ? (long)planes * h.In * w.In : 0, nameof(x)); KernelArgs.NotNull(y, outLen, nameof(y));
        if (outLen == 0) return;
        switch (width)
        {
            case SimdWidth.V512: MaxNoIndex<V512Ops, Vector512<float>>(x, y, planes, h, w); break;
            case SimdWidth.V256: MaxNoIndex<V256Ops, Vector256<float>>(x, y, planes, h, w); break;
            case SimdWidth.V128: MaxNoIndex<V128Ops, Vector128<float>>(x, y, planes, h, w); break;
            default: MaxNoIndex<ScalarOps, float>(x, y, planes, h, w); break;
        }
    }

    static void MaxNoIndex<TO, TV>(float* x, float* y, int planes, ConvAxis h, ConvAxis w) where TO : struct, IVec<TV> where TV : struct
    {
        int oh = h.Out, ow = w.Out, ih = h.In, s = w.Stride;
        long inPlane = (long)ih * w.In, outPlane = (long)oh * ow;
        // The padded row covers every tap of every window: [-PadBefore, -PadBefore + span) in input columns.
        int span = (ow - 1) * s + (w.Kernel - 1) * w.Dilation + 1;
        int plen = (span + s - 1) / s;
        long scratch = (long)ih * ow + span + (s > 1 ? (long)s * plen : 0);
        nint px = (nint)x, py = (nint)y;
        KernelThreads.For(planes, MinChunk(inPlane + outPlane), (p0, p1) =>
        {
            float* hm = (float*)NativeMemory.Alloc((nuint)(scratch * sizeof(float) + (long)w.Kernel * sizeof(int)));
            float* padded = hm + (long)ih * ow, phase = padded + span;
            // Tap kj's values for ox = 0, 1, ... start at rows + taps[kj]: offset kj*d in the padded row for stride 1,
            // else its phase row (kj*d mod s) at shift (kj*d div s).
            int* taps = (int*)(hm + scratch);
            for (int kj = 0; kj < w.Kernel; kj++)
            {
                int off = kj * w.Dilation;
                taps[kj] = s == 1 ? off : off % s * plen + off / s;
            }
            try
            {
                for (int p = p0; p < p1; p++)
                {
                    float* xp = (float*)px + p * inPlane, yp = (float*)py + p * outPlane;
                    for (int iy = 0; iy < ih; iy++)
                        RowWindowMax<TO, TV>(xp + (long)iy * w.In, w, span, plen, padded, phase, taps, hm + (long)iy * ow, ow);
                    for (int oy = 0; oy < oh; oy++)
                    {
                        float* yr = yp + (long)oy * ow;
                        bool any = false;
                        for (int ki = 0; ki < h.Kernel; ki++)
                        {
                            int iy = oy * h.Stride - h.PadBefore + ki * h.Dilation;
                            if ((uint)iy >= (uint)ih) continue;
                            float* src = hm + (long)iy * ow;
                            if (any) MaxInto<TO, TV>(yr, src, ow);
                            else new ReadOnlySpan<float>(src, ow).CopyTo(new Span<float>(yr, ow));
                            any = true;
                        }
                        if (!any) new Span<float>(yr, ow).Fill(float.NegativeInfinity);
                    }
                }
            }
            finally { NativeMemory.Free(hm); }
        });
    }

    // hm[ox] (ox < ow) = the window max of input row xr along W, taps in order; padded (span) and phase (s * plen) are scratch.
    static void RowWindowMax<TO, TV>(float* xr, ConvAxis w, int span, int plen, float* padded, float* phase, int* taps, float* hm, int ow)
        where TO : struct, IVec<TV> where TV : struct
    {
        int s = w.Stride, pad = Math.Min(w.PadBefore, span), copy = Math.Clamp(span - w.PadBefore, 0, w.In);
        new Span<float>(padded, pad).Fill(float.NegativeInfinity);
        new ReadOnlySpan<float>(xr, copy).CopyTo(new Span<float>(padded + pad, copy));
        new Span<float>(padded + pad + copy, span - pad - copy).Fill(float.NegativeInfinity);
        float* rows = padded;
        if (s > 1)
        {
            // phase row q holds padded[j*s + q]; stride 2 (the common pool) unzips vectors, other strides copy scalars.
            int done = 0;
            if (s == 2)
                for (; 2 * (done + TO.Count) <= span; done += TO.Count)
                {
                    TO.Unzip(TO.Load(padded + 2 * done), TO.Load(padded + 2 * done + TO.Count), out TV even, out TV odd);
                    TO.Store(phase + done, even);
                    TO.Store(phase + plen + done, odd);
                }
            for (int q = 0; q < s; q++)
                for (int j = done, i = done * s + q; i < span; j++, i += s) phase[q * plen + j] = padded[i];
            rows = phase;
        }
        int ox = 0;
        for (; ox + TO.Count <= ow; ox += TO.Count)
        {
            TV m = TO.Load(rows + taps[0] + ox);
            for (int kj = 1; kj < w.Kernel; kj++)
            {
                TV v = TO.Load(rows + taps[kj] + ox);
                m = TO.Select(TO.Or(TO.Gt(v, m), TO.IsNaN(v)), v, m);
            }
            TO.Store(hm + ox, m);
        }
        for (; ox < ow; ox++)
        {
            float m = rows[taps[0] + ox];
            for (int kj = 1; kj < w.Kernel; kj++)
            {
                float v = rows[taps[kj] + ox];
                if (v > m || float.IsNaN(v)) m = v;
            }
            hm[ox] = m;
        }
    }

    // dst[i] = src[i] where src[i] > dst[i] or src[i] is NaN (the reference's rule, a later row against the running max).
    static void MaxInto<TO, TV>(float* dst, float* src, int n) where TO : struct, IVec<TV> where TV : struct
    {
        int i = 0;
        for (; i + TO.Count <= n; i += TO.Count)
        {
            TV m = TO.Load(dst + i), v = TO.Load(src + i);
            TO.Store(dst + i, TO.Select(TO.Or(TO.Gt(v, m), TO.IsNaN(v)), v, m));
        }
        for (; i < n; i++)
        {
            float v = src[i];
            if (v > dst[i] || float.IsNaN(v)) dst[i] = v;
        }
    }
}
