// Max pool without argmax indices, for inference (nothing will call backward): per output row, the elementwise max
// of the window's input rows (vectors along W, contiguous), then the max over each window's columns of that row
// (strided, scalar: KW compares per output instead of KH*KW with index bookkeeping). Same y as Pool.MaxForward2d,
// its reference: padding is never chosen, a window entirely in padding gives -inf, and a NaN wins (Vector*.Max is
// IEEE 754 maximum, which propagates NaN; the column step checks for NaN as the reference does).
//   x (planes = N*C, H, W) -> y (planes, OH, OW)
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Pooling;

public static unsafe partial class Pool
{
    /// <summary>y = max over each window (see the file header); the values of <see cref="MaxForward2d(float*, float*, int*, int, ConvAxis, ConvAxis)"/> without its indices.</summary>
    public static void MaxForward2dNoIndex(float* x, float* y, int planes, ConvAxis h, ConvAxis w)
    {
        ValidatePlanes(planes, h, w);
        long outLen = (long)planes * h.Out * w.Out;
        KernelArgs.NotNull(x, outLen > 0 ? (long)planes * h.In * w.In : 0, nameof(x)); KernelArgs.NotNull(y, outLen, nameof(y));
        int oh = h.Out, ow = w.Out, iw = w.In;
        long inPlane = (long)h.In * iw, outPlane = (long)oh * ow;
        if (planes == 0 || outPlane == 0) return;
        nint px = (nint)x, py = (nint)y;
        KernelThreads.For(planes, MinChunk(inPlane + outPlane), (p0, p1) =>
        {
            float* row = (float*)NativeMemory.Alloc((nuint)iw * sizeof(float));   // the window rows' max, one input row wide
            try
            {
                for (int p = p0; p < p1; p++)
                {
                    float* xp = (float*)px + p * inPlane;
                    float* yp = (float*)py + p * outPlane;
                    for (int oy = 0; oy < oh; oy++)
                    {
                        float* yr = yp + (long)oy * ow;
                        int rows = 0;
                        for (int ki = 0; ki < h.Kernel; ki++)
                        {
                            int iy = oy * h.Stride - h.PadBefore + ki * h.Dilation;
                            if ((uint)iy >= (uint)h.In) continue;
                            float* src = xp + (long)iy * iw;
                            if (rows++ == 0) new ReadOnlySpan<float>(src, iw).CopyTo(new Span<float>(row, iw));
                            else MaxInto(row, src, iw);
                        }
                        if (rows == 0) { new Span<float>(yr, ow).Fill(float.NegativeInfinity); continue; }
                        for (int ox = 0; ox < ow; ox++)
                        {
                            float m = float.NegativeInfinity;
                            for (int kj = 0; kj < w.Kernel; kj++)
                            {
                                int ix = ox * w.Stride - w.PadBefore + kj * w.Dilation;
                                if ((uint)ix >= (uint)iw) continue;
                                float v = row[ix];
                                if (v > m || float.IsNaN(v)) m = v;
                            }
                            yr[ox] = m;
                        }
                    }
                }
            }
            finally { NativeMemory.Free(row); }
        });
    }

    // row[i] = max(row[i], src[i]), NaN-propagating.
    static void MaxInto(float* row, float* src, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Max(Vector256.Load(row + i), Vector256.Load(src + i)), row + i);
        if (Vector128.IsHardwareAccelerated)
            for (; i + 4 <= n; i += 4) Vector128.Store(Vector128.Max(Vector128.Load(row + i), Vector128.Load(src + i)), row + i);
        for (; i < n; i++)
        {
            float a = row[i], b = src[i];
            row[i] = float.IsNaN(a) || a > b ? a : b;
        }
    }
}
