// Plain scalar references for the convolution kernels: element-by-element im2col / col2im, a
// direct grouped conv2d with its input and weight gradients (double accumulation); depthwise is the grouped case.
// Slow and obvious on purpose; the tests compare every optimised path against these.
namespace Cochlea.Kernels.Conv;

/// <summary>Scalar reference implementations for <see cref="Im2Col"/>, <see cref="Depthwise"/> and grouped convolution.</summary>
public static unsafe class ConvReference
{
    /// <summary>Input index of tap k for output o on an axis, or -1 when it falls in the padding.</summary>
    public static int InputIndex(ConvAxis a, int o, int k)
    {
        int i = o * a.Stride - a.PadBefore + k * a.Dilation;
        return i >= 0 && i < a.In ? i : -1;
    }

    /// <summary>Same contract as <see cref="Im2Col.Forward2d"/>.</summary>
    public static void Im2Col2d(float* x, ConvAxis h, ConvAxis w, int channelStart, int channelCount, float* cols)
    {
        foreach (var (col, src) in ColumnSources(h, w, channelStart, channelCount))
            cols[col] = src < 0 ? 0f : x[src];
    }

    /// <summary>Same contract as <see cref="Im2Col.Backward2d(float*, ConvAxis, ConvAxis, int, int, float*)"/> (accumulates).</summary>
    public static void Col2Im2d(float* cols, ConvAxis h, ConvAxis w, int channelStart, int channelCount, float* dx)
    {
        foreach (var (col, src) in ColumnSources(h, w, channelStart, channelCount))
            if (src >= 0) dx[src] += cols[col];
    }

    // Every entry of the column matrix (channelCount*KH*KW, OH*OW) with the x (C, H, W) index it copies, -1 for padding,
    // in row-major column order; im2col reads along it and col2im, its adjoint, adds back along it.
    static IEnumerable<(long Col, long Src)> ColumnSources(ConvAxis h, ConvAxis w, int channelStart, int channelCount)
    {
        int oh = h.Out, ow = w.Out;
        for (int c = 0; c < channelCount; c++)
            for (int ki = 0; ki < h.Kernel; ki++)
                for (int kj = 0; kj < w.Kernel; kj++)
                    for (int oy = 0; oy < oh; oy++)
                        for (int ox = 0; ox < ow; ox++)
                        {
                            int iy = InputIndex(h, oy, ki), ix = InputIndex(w, ox, kj);
                            long r = (c * h.Kernel + ki) * w.Kernel + kj;
                            yield return (r * oh * ow + oy * ow + ox, iy < 0 || ix < 0 ? -1 : ((long)(channelStart + c) * h.In + iy) * w.In + ix);
                        }
    }

    /// <summary>
    /// Direct grouped conv2d, no bias: x (N, Cin, H, W), weight (Cout, Cin/groups, KH, KW), y (N, Cout, OH, OW);
    /// y[n,o,oy,ox] = sum_{c,ki,kj} w[o,c,ki,kj] x[n, g*Cin/groups + c, iy, ix], g = o / (Cout/groups). Double accumulation.
    /// </summary>
    public static void Conv2d(float* x, float* weight, float* y, int n, int cin, int cout, int groups, ConvAxis h, ConvAxis w)
    {
        int cg = cin / groups, og = cout / groups, oh = h.Out, ow = w.Out;
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cout; o++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double s = 0;
                        int g = o / og;
                        for (int c = 0; c < cg; c++)
                            for (int ki = 0; ki < h.Kernel; ki++)
                                for (int kj = 0; kj < w.Kernel; kj++)
                                {
                                    int iy = InputIndex(h, oy, ki), ix = InputIndex(w, ox, kj);
                                    if (iy < 0 || ix < 0) continue;
                                    s += (double)weight[((long)(o * cg + c) * h.Kernel + ki) * w.Kernel + kj]
                                         * x[(((long)b * cin + g * cg + c) * h.In + iy) * w.In + ix];
                                }
                        y[(((long)b * cout + o) * oh + oy) * ow + ox] = (float)s;
                    }
    }

    /// <summary>
    /// Direct depthwise conv2d: x (N, C, H, W), weight (C*M, KH, KW), y (N, C*M, OH, OW); output channel oc reads input
    /// channel oc / M. This is <see cref="Conv2d"/> with groups = C, Cout = C*M.
    /// </summary>
    public static void DepthwiseForward(float* x, float* weight, float* y, int n, int channels, int multiplier, ConvAxis h, ConvAxis w)
        => Conv2d(x, weight, y, n, channels, channels * multiplier, channels, h, w);

    /// <summary>Depthwise input gradient: dx (N, C, H, W) = J^T dy, overwritten. Double accumulation.</summary>
    public static void DepthwiseBackwardInput(float* dy, float* weight, float* dx, int n, int channels, int multiplier, ConvAxis h, ConvAxis w)
        => Conv2dBackwardInput(dy, weight, dx, n, channels, channels * multiplier, h, w, channels);

    /// <summary>Depthwise weight gradient: dweight (C*M, KH, KW) = sum over N and outputs of dy * x, overwritten. Double accumulation.</summary>
    public static void DepthwiseBackwardWeight(float* x, float* dy, float* dweight, int n, int channels, int multiplier, ConvAxis h, ConvAxis w)
        => Conv2dBackwardWeight(x, dy, dweight, n, channels, channels * multiplier, h, w, channels);

    /// <summary>
    /// Grouped conv2d input gradient (the adjoint of <see cref="Conv2d"/>): dx (N, Cin, H, W) = J^T dy for dy (N, Cout, OH, OW),
    /// overwritten. Double accumulation.
    /// </summary>
    public static void Conv2dBackwardInput(float* dy, float* weight, float* dx, int n, int cin, int cout, ConvAxis h, ConvAxis w, int groups = 1)
    {
        int oh = h.Out, ow = w.Out, cg = cin / groups, og = cout / groups;
        var acc = new double[(long)n * cin * h.In * w.In];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cout; o++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double g = dy[(((long)b * cout + o) * oh + oy) * ow + ox];
                        for (int c = 0; c < cg; c++)
                            for (int ki = 0; ki < h.Kernel; ki++)
                                for (int kj = 0; kj < w.Kernel; kj++)
                                {
                                    int iy = InputIndex(h, oy, ki), ix = InputIndex(w, ox, kj);
                                    if (iy < 0 || ix < 0) continue;
                                    acc[(((long)b * cin + o / og * cg + c) * h.In + iy) * w.In + ix] += g * weight[(((long)o * cg + c) * h.Kernel + ki) * w.Kernel + kj];
                                }
                    }
        for (long i = 0; i < acc.Length; i++) dx[i] = (float)acc[i];
    }

    /// <summary>
    /// Grouped conv2d weight gradient: dweight (Cout, Cin/groups, KH, KW) = sum over N and outputs of dy * x (output channel o
    /// reads input channels of group o / (Cout/groups)), overwritten. Double accumulation.
    /// </summary>
    public static void Conv2dBackwardWeight(float* x, float* dy, float* dweight, int n, int cin, int cout, ConvAxis h, ConvAxis w, int groups = 1)
    {
        int oh = h.Out, ow = w.Out, cg = cin / groups, og = cout / groups;
        for (int o = 0; o < cout; o++)
            for (int c = 0; c < cg; c++)
                for (int ki = 0; ki < h.Kernel; ki++)
                    for (int kj = 0; kj < w.Kernel; kj++)
                    {
                        double s = 0;
                        for (int b = 0; b < n; b++)
                            for (int oy = 0; oy < oh; oy++)
                                for (int ox = 0; ox < ow; ox++)
                                {
                                    int iy = InputIndex(h, oy, ki), ix = InputIndex(w, ox, kj);
                                    if (iy < 0 || ix < 0) continue;
                                    s += (double)dy[(((long)b * cout + o) * oh + oy) * ow + ox] * x[(((long)b * cin + o / og * cg + c) * h.In + iy) * w.In + ix];
                                }
                        dweight[(((long)o * cg + c) * h.Kernel + ki) * w.Kernel + kj] = (float)s;
                    }
    }
}
