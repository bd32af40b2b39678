// The im2col convolution split over images instead of inside each GEMM (groups == 1, at least as many images as
// threads): each thread runs whole images - im2col, then a single-threaded GEMM - on its own cols buffer.
// Why: a conv layer's per-image GEMMs are small (FreesoundCnn's: 16 x 12336 x 66, 32 x 3072 x 528, 64 x 768 x 1056);
// splitting each one over the threads costs a synchronisation per GEMM and per im2col and makes both cores stream the
// same cols buffer, while whole images keep every thread busy with no synchronisation until the layer ends.
// Deterministic: the image chunks depend only on (n, thread count), and the weight gradient is summed per chunk, then
// over chunks in chunk order.
//   forward  y_i = W (Cout, Cin*KH*KW) x cols(x_i)
//   backward dx_i = col2im(W^T x dy_i);  dW = sum over chunks of sum over the chunk's images of dy_i x cols(x_i)^T
using System.Runtime.InteropServices;
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Gemm;
using Cochlea.Kernels.Threading;

namespace Cochlea;

public static unsafe partial class Ops
{
    static bool ByImage(int n, int groups) => groups == 1 && KernelThreads.Count > 1 && n >= KernelThreads.Count;

    internal static void ConvForwardByImage(float* px, float* pw, float* py, int n, int cin, int cout, ConvAxis ah, ConvAxis aw)
    {
        int kk = cin * ah.Kernel * aw.Kernel;
        long plane = (long)ah.Out * aw.Out, inPlane = (long)ah.In * aw.In;
        nint x = (nint)px, w = (nint)pw, y = (nint)py;
        KernelThreads.For(n, 1, (i0, i1) =>
        {
            float* cols = (float*)NativeMemory.AlignedAlloc((nuint)(kk * plane * sizeof(float)), 64);
            try
            {
                for (int i = i0; i < i1; i++)
                {
                    Im2Col.Forward2d((float*)x + i * cin * inPlane, ah, aw, 0, cin, cols, threads: 1);
                    Sgemm.Run(false, false, cout, (int)plane, kk, 1f, (float*)w, kk, cols, (int)plane, 0f, (float*)y + i * cout * plane, (int)plane, threads: 1);
                }
            }
            finally { NativeMemory.AlignedFree(cols); }
        });
    }

    // pdx (accumulated into; zeros on entry) and pdw (zeros on entry) may each be null when that gradient is not needed.
    internal static void ConvBackwardByImage(float* pg, float* px, float* pw, float* pdx, float* pdw, int n, int cin, int cout, ConvAxis ah, ConvAxis aw)
    {
        int kk = cin * ah.Kernel * aw.Kernel;
        long plane = (long)ah.Out * aw.Out, inPlane = (long)ah.In * aw.In, wlen = (long)cout * kk;
        int parts = Math.Min(KernelThreads.Count, n);
        float* partial = pdw is null ? null : (float*)NativeMemory.AlignedAlloc((nuint)(parts * wlen * sizeof(float)), 64);
        try
        {
            if (partial is not null) new Span<float>(partial, checked((int)(parts * wlen))).Clear();
            nint g = (nint)pg, x = (nint)px, w = (nint)pw, dx = (nint)pdx, part0 = (nint)partial;
            KernelThreads.For(n, 1, parts, (i0, i1) =>
            {
                int part = 0;
                while (KernelThreads.Chunk(n, parts, part).Start != i0) part++;
                float* cols = (float*)NativeMemory.AlignedAlloc((nuint)(kk * plane * sizeof(float)), 64);
                try
                {
                    for (int i = i0; i < i1; i++)
                    {
                        float* gi = (float*)g + i * cout * plane;
                        if (dx != 0)
                        {
                            Sgemm.Run(true, false, kk, (int)plane, cout, 1f, (float*)w, kk, gi, (int)plane, 0f, cols, (int)plane, threads: 1);
                            Im2Col.Backward2d(cols, ah, aw, 0, cin, (float*)dx + i * cin * inPlane, Kernels.Simd.Best, threads: 1);
                        }
                        if (part0 != 0)
                        {
                            Im2Col.Forward2d((float*)x + i * cin * inPlane, ah, aw, 0, cin, cols, threads: 1);
                            Sgemm.Run(false, true, cout, kk, (int)plane, 1f, gi, (int)plane, cols, (int)plane, 1f, (float*)part0 + part * wlen, kk, threads: 1);
                        }
                    }
                }
                finally { NativeMemory.AlignedFree(cols); }
            });
            if (partial is not null)
                for (int p = 0; p < parts; p++)
                    for (long j = 0; j < wlen; j++) pdw[j] += partial[p * wlen + j];
        }
        finally { if (partial is not null) NativeMemory.AlignedFree(partial); }
    }
}
