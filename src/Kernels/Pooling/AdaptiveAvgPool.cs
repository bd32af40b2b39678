// Adaptive average pooling of NCHW planes, as torch.nn.AdaptiveAvgPool2d: output cell (oy, ox)
// averages rows [floor(oy H / OH), ceil((oy + 1) H / OH)) and the columns likewise (windows may
// overlap and differ in size).  x (planes, H, W) -> y (planes, OH, OW); backward spreads dy / area.
// Scalar loops (variable windows); threads split planes, so sums are deterministic.
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Pooling;

/// <summary>Adaptive average pooling forward and backward; shapes in the file header.</summary>
public static unsafe class AdaptiveAvgPool
{
    /// <summary>Window start of output <paramref name="o"/>: floor(o * in / out).</summary>
    public static int Start(int o, int inSize, int outSize) => (int)((long)o * inSize / outSize);
    /// <summary>Window end (exclusive) of output <paramref name="o"/>: ceil((o + 1) * in / out).</summary>
    public static int End(int o, int inSize, int outSize) => (int)(((long)(o + 1) * inSize + outSize - 1) / outSize);

    /// <summary>y[p, oy, ox] = mean of x[p] over the window. y overwritten.</summary>
    public static void Forward(float* x, float* y, int planes, int h, int w, int oh, int ow)
    {
        Validate(planes, h, w, oh, ow);
        KernelArgs.NotNull(x, (long)planes * h * w, nameof(x)); KernelArgs.NotNull(y, (long)planes * oh * ow, nameof(y));
        nint px = (nint)x, py = (nint)y;
        KernelThreads.For(planes, Math.Max(1, 16384 / Math.Max(1, h * w)), (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                float* src = (float*)px + (long)p * h * w, dst = (float*)py + (long)p * oh * ow;
                for (int oy = 0; oy < oh; oy++)
                {
                    int ys = Start(oy, h, oh), ye = End(oy, h, oh);
                    for (int ox = 0; ox < ow; ox++)
                    {
                        int xs = Start(ox, w, ow), xe = End(ox, w, ow);
                        float s = 0;
                        for (int iy = ys; iy < ye; iy++)
                            for (int ix = xs; ix < xe; ix++) s += src[(long)iy * w + ix];
                        dst[(long)oy * ow + ox] = s / ((ye - ys) * (xe - xs));
                    }
                }
            }
        });
    }

    /// <summary>dx[p, i] = sum over windows containing i of dy / window area. dx overwritten.</summary>
    public static void Backward(float* dy, float* dx, int planes, int h, int w, int oh, int ow)
    {
        Validate(planes, h, w, oh, ow);
        KernelArgs.NotNull(dy, (long)planes * oh * ow, nameof(dy)); KernelArgs.NotNull(dx, (long)planes * h * w, nameof(dx));
        nint pdy = (nint)dy, pdx = (nint)dx;
        KernelThreads.For(planes, Math.Max(1, 16384 / Math.Max(1, h * w)), (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                float* g = (float*)pdy + (long)p * oh * ow, d = (float*)pdx + (long)p * h * w;
                new Span<float>(d, h * w).Clear();
                for (int oy = 0; oy < oh; oy++)
                {
                    int ys = Start(oy, h, oh), ye = End(oy, h, oh);
                    for (int ox = 0; ox < ow; ox++)
                    {
                        int xs = Start(ox, w, ow), xe = End(ox, w, ow);
                        float v = g[(long)oy * ow + ox] / ((ye - ys) * (xe - xs));
                        for (int iy = ys; iy < ye; iy++)
                            for (int ix = xs; ix < xe; ix++) d[(long)iy * w + ix] += v;
                    }
                }
            }
        });
    }

    static void Validate(int planes, int h, int w, int oh, int ow)
    {
        if (planes < 0 || h < 1 || w < 1 || oh < 1 || ow < 1)
            throw new ArgumentOutOfRangeException(nameof(planes), $"adaptive average pool: planes {planes} >= 0 and sizes ({h}, {w}) -> ({oh}, {ow}) positive expected.");
    }
}

/// <summary>Plain reference for <see cref="AdaptiveAvgPool"/> in double (windows from the real-valued bounds), used by the tests.</summary>
public static unsafe class AdaptiveAvgPoolReference
{
    /// <summary>Same contract as <see cref="AdaptiveAvgPool.Forward"/>.</summary>
    public static void Forward(float* x, float* y, int planes, int h, int w, int oh, int ow)
    {
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    int ys = (int)Math.Floor((double)oy * h / oh), ye = (int)Math.Ceiling((double)(oy + 1) * h / oh);
                    int xs = (int)Math.Floor((double)ox * w / ow), xe = (int)Math.Ceiling((double)(ox + 1) * w / ow);
                    double s = 0;
                    for (int iy = ys; iy < ye; iy++)
                        for (int ix = xs; ix < xe; ix++) s += x[((long)p * h + iy) * w + ix];
                    y[((long)p * oh + oy) * ow + ox] = (float)(s / ((ye - ys) * (xe - xs)));
                }
    }
}
