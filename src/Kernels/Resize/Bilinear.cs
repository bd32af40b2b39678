// Bilinear resize of NCHW planes with PyTorch's F.interpolate(mode="bilinear", align_corners=False,
// antialias=False) semantics: output pixel o reads source coordinate s = (o + 0.5) * in / out - 0.5,
// clamped below at 0; i0 = floor(s), i1 = min(i0 + 1, in - 1), weight of i1 = s - i0.
//   x (planes, H, W) -> y (planes, OH, OW); backward scatters dy into dx (planes, H, W) with the same weights.
// Separable tables are computed once per call (in double, as torch's float64 fixtures do); the inner loop
// is scalar (two gathers per output: no contiguous vector form). Threads split planes, so sums are
// deterministic.
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Resize;

/// <summary>Bilinear resize forward and backward (align_corners = false); shapes in the file header.</summary>
public static unsafe class Bilinear
{
    /// <summary>Source index pairs and the weight of the second, for each of <paramref name="outSize"/> outputs.</summary>
    public static (int[] I0, int[] I1, float[] L1) Table(int inSize, int outSize)
    {
        if (inSize < 1 || outSize < 1) throw new ArgumentOutOfRangeException(nameof(inSize), $"sizes must be positive (in {inSize}, out {outSize}).");
        var i0 = new int[outSize]; var i1 = new int[outSize]; var l1 = new float[outSize];
        double scale = (double)inSize / outSize;
        for (int o = 0; o < outSize; o++)
        {
            double s = Math.Max(0.0, (o + 0.5) * scale - 0.5);
            int a = Math.Min((int)s, inSize - 1);
            i0[o] = a;
            i1[o] = Math.Min(a + 1, inSize - 1);
            l1[o] = (float)(s - a);
        }
        return (i0, i1, l1);
    }

    /// <summary>y[p, oy, ox] = bilinear sample of x[p] at the torch source coordinates. y overwritten.</summary>
    public static void Forward(float* x, float* y, int planes, int h, int w, int oh, int ow)
    {
        Validate(planes, h, w, oh, ow);
        KernelArgs.NotNull(x, (long)planes * h * w, nameof(x)); KernelArgs.NotNull(y, (long)planes * oh * ow, nameof(y));
        if (planes == 0) return;
        var (y0, y1, ly) = Table(h, oh);
        var (x0, x1, lx) = Table(w, ow);
        nint px = (nint)x, py = (nint)y;
        KernelThreads.For(planes, Math.Max(1, 16384 / Math.Max(1, oh * ow)), (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                float* src = (float*)px + (long)p * h * w, dst = (float*)py + (long)p * oh * ow;
                for (int oy = 0; oy < oh; oy++)
                {
                    float* r0 = src + (long)y0[oy] * w, r1 = src + (long)y1[oy] * w;
                    float b = ly[oy], a = 1f - b;
                    float* d = dst + (long)oy * ow;
                    for (int ox = 0; ox < ow; ox++)
                    {
                        float c = lx[ox], e = 1f - c;
                        d[ox] = a * (e * r0[x0[ox]] + c * r0[x1[ox]]) + b * (e * r1[x0[ox]] + c * r1[x1[ox]]);
                    }
                }
            }
        });
    }

    /// <summary>dx = the transpose of <see cref="Forward"/> applied to dy. dx (planes, H, W) overwritten.</summary>
    public static void Backward(float* dy, float* dx, int planes, int h, int w, int oh, int ow)
    {
        Validate(planes, h, w, oh, ow);
        KernelArgs.NotNull(dy, (long)planes * oh * ow, nameof(dy)); KernelArgs.NotNull(dx, (long)planes * h * w, nameof(dx));
        if (planes == 0) return;
        var (y0, y1, ly) = Table(h, oh);
        var (x0, x1, lx) = Table(w, ow);
        nint pdy = (nint)dy, pdx = (nint)dx;
        KernelThreads.For(planes, Math.Max(1, 16384 / Math.Max(1, oh * ow)), (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                float* g = (float*)pdy + (long)p * oh * ow, d = (float*)pdx + (long)p * h * w;
                new Span<float>(d, h * w).Clear();
                for (int oy = 0; oy < oh; oy++)
                {
                    float* r0 = d + (long)y0[oy] * w, r1 = d + (long)y1[oy] * w;
                    float b = ly[oy], a = 1f - b;
                    float* gr = g + (long)oy * ow;
                    for (int ox = 0; ox < ow; ox++)
                    {
                        float c = lx[ox], e = 1f - c, v = gr[ox];
                        r0[x0[ox]] += a * e * v; r0[x1[ox]] += a * c * v;
                        r1[x0[ox]] += b * e * v; r1[x1[ox]] += b * c * v;
                    }
                }
            }
        });
    }

    static void Validate(int planes, int h, int w, int oh, int ow)
    {
        if (planes < 0 || h < 1 || w < 1 || oh < 1 || ow < 1)
            throw new ArgumentOutOfRangeException(nameof(planes), $"bilinear resize: planes {planes} >= 0 and sizes ({h}, {w}) -> ({oh}, {ow}) positive expected.");
    }
}

/// <summary>Plain references for <see cref="Bilinear"/> (double arithmetic, the formula written out per output), used by the tests.</summary>
public static unsafe class BilinearReference
{
    /// <summary>Same contract as <see cref="Bilinear.Forward"/>.</summary>
    public static void Forward(float* x, float* y, int planes, int h, int w, int oh, int ow)
    {
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    double acc = 0;
                    foreach (var (iy, wy) in Taps(h, oh, oy))
                        foreach (var (ix, wx) in Taps(w, ow, ox))
                            acc += wy * wx * x[((long)p * h + iy) * w + ix];
                    y[((long)p * oh + oy) * ow + ox] = (float)acc;
                }
    }

    /// <summary>Same contract as <see cref="Bilinear.Backward"/>.</summary>
    public static void Backward(float* dy, float* dx, int planes, int h, int w, int oh, int ow)
    {
        var acc = new double[(long)planes * h * w];
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    foreach (var (iy, wy) in Taps(h, oh, oy))
                        foreach (var (ix, wx) in Taps(w, ow, ox))
                            acc[((long)p * h + iy) * w + ix] += wy * wx * dy[((long)p * oh + oy) * ow + ox];
        for (long i = 0; i < acc.Length; i++) dx[i] = (float)acc[i];
    }

    // The two taps of output o: source s = max(0, (o + 0.5) in / out - 0.5), floor and the next (clamped), weights 1 - f, f.
    static (int, double)[] Taps(int inSize, int outSize, int o)
    {
        double s = Math.Max(0.0, (o + 0.5) * inSize / outSize - 0.5);
        int a = Math.Min((int)Math.Floor(s), inSize - 1);
        double f = s - a;
        return [(a, 1 - f), (Math.Min(a + 1, inSize - 1), f)];
    }
}
